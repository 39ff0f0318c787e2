# Publication tables, the specification curve, the results index: wired in by the report stage.
def report_outputs():
    return []
