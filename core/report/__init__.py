"""Case output: the info summary and the case report (markdown and JSON), one schema."""
