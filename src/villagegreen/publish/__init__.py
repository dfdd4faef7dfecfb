"""Publishing back into the platforms: stories, digests, polls and wrap-up notes (``villagegreen publish``).

- ``targets``: the ``[[targets]]`` of villagegreen.toml; ``items``: what can be published;
- ``delivery``: what is sent (printed by ``--dry-run``) and the retrying HTTP client;
- ``formats``: Slack mrkdwn and the HTML sanitiser;
- one module per kind: ``site``, ``mail``, ``matrix``, ``discourse``, ``slack``, ``zulip``, ``mattermost``;
- ``records``: the ``publications`` table; ``service.publish``: one item to one target, once;
- ``poll_results`` (and ``matrix_polls``): how members answered the polls posted (read on demand).

See docs/publishing.md.
"""
