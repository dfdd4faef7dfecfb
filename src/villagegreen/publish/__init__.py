"""Publishing back into the platforms: stories, digests, polls and wrap-up notes (``villagegreen publish``)."""
