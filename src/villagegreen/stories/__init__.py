"""Stories turn analysis results and thread content into attributed narratives."""
