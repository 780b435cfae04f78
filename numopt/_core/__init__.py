"""The layer every numopt solver shares: results, statuses, validation, iteration and registry."""
