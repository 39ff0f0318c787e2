# Difference-in-differences grid: filled in once the spec builder lands.
def did_outputs():
    return []
