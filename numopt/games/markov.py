"""Entropy-regularised tabular Markov games with softmax policies, and their Fisher geometry.

Player ``i`` picks its action with probabilities ``pi_i(.|s) = softmax(theta_i[s])`` and minimises
``f_i(theta) = -( sum_s d_pi(s) sum_a pi(a|s) R_i(s, a) + tau sum_s H(pi_i(.|s)) )`` with the
discounted state occupancy ``d_pi = (1 - gamma) (I - gamma P_pi^T)^{-1} mu_0`` (Sharma,
arXiv:2512.06791, Markov game experiment). The
mirror (Fisher) geometry of Sharma, arXiv:2512.06791 measures block ``i`` with ``G_i =
blockdiag_s(diag(pi_i) -
pi_i pi_i^T)``, the Hessian of the negative entropy in logit coordinates; Euler on the natural
gradient field is natural policy gradient.
"""

import string

import numpy as np

from numopt._core.validation import check_array, check_scalar
from numopt.games.game import Game

__all__ = ["TabularMarkovGame"]

_NAME = "TabularMarkovGame"


def _log_softmax(logits):
    # Shifted by the row maximum so that exp never overflows and log never sees 0.
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


class TabularMarkovGame(Game):
    """An entropy-regularised N-player tabular Markov game with softmax policies.

    Parameters
    ----------
    rewards : array_like, shape (N, S, A_1, ..., A_N)
        ``R_i(s, a)``: player ``i``'s reward for joint action ``a`` in state ``s``.
    transitions : array_like, shape (S, A_1, ..., A_N, S)
        ``P(s' | s, a)``; rows must be probability vectors.
    discount : float
        ``gamma`` in ``[0, 1)``.
    entropy : float
        Regularisation weight ``tau >= 0``.
    initial : array_like, shape (S,)
        Start distribution ``mu_0``.

    Attributes
    ----------
    n_states : int
    n_actions : tuple of int

    Examples
    --------
    >>> import numpy as np
    >>> from numopt.games import TabularMarkovGame
    >>> rewards = np.array([[[[1.0, -1.0], [-1.0, 1.0]]]] * 2)   # 2 players, 1 state
    >>> transitions = np.ones((1, 2, 2, 1))
    >>> game = TabularMarkovGame(rewards, transitions, discount=0.9, entropy=1.0, initial=[1.0])
    >>> bool(np.abs(game.pseudo_gradient(np.zeros(4))).max() < 1e-12)
    True
    """

    def __init__(self, rewards, transitions, *, discount, entropy, initial, name="markov"):
        rewards = check_array(rewards, "rewards")
        n_players = rewards.shape[0]
        if rewards.ndim != n_players + 2:
            raise ValueError(f"`rewards` must have shape (N, S, A_1, ..., A_N) with N = "
                             f"{n_players}; got shape {rewards.shape}.")
        self.n_states, self.n_actions = rewards.shape[1], tuple(rewards.shape[2:])
        self.transitions = check_array(transitions, "transitions",
                                       shape=(self.n_states, *self.n_actions, self.n_states))
        if (self.transitions < 0).any() or not np.allclose(self.transitions.sum(-1), 1.0):
            raise ValueError("`transitions` must be non-negative with rows summing to 1.")
        self.initial = check_array(initial, "initial", shape=(self.n_states,))
        if (self.initial < 0).any() or not np.isclose(self.initial.sum(), 1.0):
            raise ValueError("`initial` must be a probability vector.")
        self.rewards = rewards
        self.discount = check_scalar(discount, "discount", _NAME, low=0, low_inclusive=True,
                                     high=1, high_inclusive=False)
        self.entropy = check_scalar(entropy, "entropy", _NAME, low=0, low_inclusive=True)
        super().__init__(self._pseudo_gradient_of, [self.n_states * a for a in self.n_actions],
                         name=name)

    def policies(self, theta):
        """Per-player policies ``pi_i``, each of shape ``(S, A_i)``."""
        return [np.exp(log_policy) for log_policy in self.log_policies(theta)]

    def log_policies(self, theta):
        """Per-player log-policies ``log pi_i``, each of shape ``(S, A_i)``."""
        theta = np.asarray(theta, dtype=float)
        return [_log_softmax(theta[block].reshape(self.n_states, a))
                for block, a in zip(self.blocks, self.n_actions, strict=True)]

    def _contract_others(self, tensor, policies, keep):
        """``sum_{a_{-keep}} prod_{j != keep} pi_j(a_j|s) tensor(s, a)``: (S, A_keep) or (S,)."""
        letters = string.ascii_letters[1:1 + self.n_players]
        operands, terms = [tensor], ["z" + letters]
        for j, policy in enumerate(policies):
            if j != keep:
                operands.append(policy)
                terms.append("z" + letters[j])
        output = "z" + (letters[keep] if keep is not None else "")
        return np.einsum(",".join(terms) + "->" + output, *operands)

    def _values(self, policies):
        """State occupancy ``d``, values ``V_i`` and action values ``Q_i`` under ``policies``."""
        states = self.n_states
        transition = self._contract_others(np.moveaxis(self.transitions, -1, 1).reshape(
            states * states, *self.n_actions), [np.repeat(p, states, axis=0) for p in policies],
            None).reshape(states, states)
        identity = np.eye(states)
        occupancy = (1 - self.discount) * np.linalg.solve(identity - self.discount * transition.T,
                                                          self.initial)
        values, action_values = [], []
        for reward in self.rewards:
            expected_reward = self._contract_others(reward, policies, None)
            value = np.linalg.solve(identity - self.discount * transition, expected_reward)
            values.append(value)
            action_values.append(reward + self.discount * self.transitions @ value)
        return occupancy, values, action_values

    def costs(self, theta):
        """The players' costs ``f_i(theta)``, shape ``(N,)``."""
        log_policies = self.log_policies(theta)
        policies = [np.exp(log_policy) for log_policy in log_policies]
        occupancy, values, _ = self._values(policies)
        entropy = [-(p * log_p).sum() for p, log_p in zip(policies, log_policies, strict=True)]
        # sum_s d(s) r_pi(s) = (1 - gamma) mu_0^T V.
        return np.array([-((1 - self.discount) * self.initial @ value + self.entropy * h)
                         for value, h in zip(values, entropy, strict=True)])

    def _pseudo_gradient_of(self, theta):
        log_policies = self.log_policies(theta)
        policies = [np.exp(log_policy) for log_policy in log_policies]
        occupancy, values, action_values = self._values(policies)
        parts = []
        for i, (policy, log_policy) in enumerate(zip(policies, log_policies, strict=True)):
            # Policy gradient theorem:
            # d J_i / d theta_i(s, b) = d(s) pi_i(b|s) (Q_i(s, b) - V_i(s)).
            marginal_q = self._contract_others(action_values[i], policies, i)
            game_gradient = occupancy[:, None] * policy * (marginal_q - values[i][:, None])
            state_entropy = -(policy * log_policy).sum(axis=1, keepdims=True)
            entropy_gradient = -policy * (log_policy + state_entropy)
            parts.append(-(game_gradient + self.entropy * entropy_gradient).ravel())
        return np.concatenate(parts)

    def _fisher_factors(self, theta):
        """Per player and state, the range ``U`` and positive eigenvalues of ``diag(p) - p p^T``."""
        factors = []
        for policy in self.policies(theta):
            player = []
            for p in policy:
                eigenvalues, vectors = np.linalg.eigh(np.diag(p) - np.outer(p, p))
                keep = eigenvalues > 1e-12 * eigenvalues.max()
                player.append((vectors[:, keep], eigenvalues[keep]))
            factors.append(player)
        return factors

    def fisher_normaliser(self, theta):
        """``(T, sizes)``: ``T J T^T`` is the Jacobian in Fisher-normalised coordinates.

        ``T = blockdiag(Lambda^{-1/2} U^T)`` over players and states, where ``U Lambda U^T`` is
        the Fisher block restricted to its range (the softmax shift direction is dropped: every
        cost is invariant along it).
        """
        rows, sizes = [], []
        for player in self._fisher_factors(theta):
            size = 0
            for vectors, eigenvalues in player:
                rows.append(vectors.T / np.sqrt(eigenvalues)[:, None])
                size += len(eigenvalues)
            sizes.append(size)
        from scipy.linalg import block_diag

        return block_diag(*rows), tuple(sizes)

    def fisher_blocks(self, theta):
        """The Fisher metric blocks ``G_i(theta)``, each of shape ``(d_i, d_i)``."""
        from scipy.linalg import block_diag

        return [block_diag(*[np.diag(p) - np.outer(p, p) for p in policy])
                for policy in self.policies(theta)]

    def natural_direction(self, theta):
        """The natural gradient ``G_i^+ F_i(theta)`` per player (minimum-norm solution)."""
        gradient = self.pseudo_gradient(theta)
        parts = []
        for block, player, a in zip(self.blocks, self._fisher_factors(theta),
                                          self.n_actions, strict=True):
            pieces = gradient[block].reshape(self.n_states, a)
            parts.extend(vectors @ ((vectors.T @ piece) / eigenvalues)
                         for piece, (vectors, eigenvalues) in zip(pieces, player, strict=True))
        return np.concatenate(parts)
