"""Reading a printed summary table back: its rows, each cell's text whole (a cell Keras'
layout broke over lines joined again with spaces)."""


def table_rows(text: str) -> list[tuple[str, ...]]:
    """The body rows of the table in ``text`` (the header left out)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("┡")) + 1
    rows, block = [], []
    for line in lines[start:]:
        if line.startswith(("├", "└")):
            cells = zip(*(part.split("│")[1:-1] for part in block), strict=True)
            rows.append(tuple(" ".join(p.strip() for p in cell if p.strip()) for cell in cells))
            block = []
            if line.startswith("└"):
                break
        else:
            block.append(line)
    return rows
