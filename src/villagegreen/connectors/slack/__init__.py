"""Slack: workspace exports (zip or folder, official or slackdump) to canonical records."""
