"""The adoption suite: small apps written the way real projects write them, each tested only
through the plugin's public fixtures. ``projects/`` holds whole projects (their own pyproject
and conftest) that the tests here copy into a temporary directory and run in a subprocess."""

collect_ignore = ["projects"]
