"""What every live (API) connector shares: the HTTP client and the staging folder."""
