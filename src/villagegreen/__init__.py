"""Village Green: conversation analytics for the people who facilitate social-learning communities."""

__version__ = "0.1.0"
