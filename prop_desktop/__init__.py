"""PRoP Desktop: personalize a home robot arm while keeping each person's preferences private."""

__version__ = "0.1.0"
