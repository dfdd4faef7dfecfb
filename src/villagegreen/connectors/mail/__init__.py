"""Mailing-list archives (mbox, Mailman/pipermail text archives) into conversations."""
