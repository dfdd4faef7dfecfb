"""WhatsApp chat exports ("Export chat" text, alone or zipped with its media) into messages and events."""
