"""One module per page of the journey: Connect, Profiles, Record, Train, Drive."""
