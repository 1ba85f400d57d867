"""Store audit tours (巡店): templates, versioned checklists, results and their score."""
