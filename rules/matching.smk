# Matching difference-in-differences (Design 2): wired in by the matching stage.
def matching_outputs():
    return []
