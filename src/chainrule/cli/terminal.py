"""Text pictures for a terminal: small grey-level images as characters, a confusion matrix, a
metrics line. Plain ASCII, so they print the same in any console and in log files.

Example::

    >>> print(draw_images([[[0.0, 1.0], [1.0, 0.0]]], ["true 1"]))
      @@
    @@
    true 1
"""

import numpy as np

# Grey levels from white paper (0) to full ink (1): each character covers more of its cell.
RAMP = " .:-=+*#%@"


def image_to_text(image):
    """One image (H, W) of values in [0, 1] -> H lines of 2*W characters.

    Each pixel is two characters wide, because a character cell is about twice as tall as wide.
    """
    pixels = np.asarray(image, dtype=np.float64)
    if pixels.ndim != 2:
        raise ValueError(f"expected one image of shape (H, W), got shape {pixels.shape}")
    levels = np.clip(np.rint(np.clip(pixels, 0.0, 1.0) * (len(RAMP) - 1)), 0, len(RAMP) - 1).astype(int)
    return ["".join(RAMP[level] * 2 for level in row) for row in levels]


def draw_images(images, captions, gap=4):
    """Images (N, H, W) in [0, 1] side by side, each with its caption underneath -> text.

    Captions wider than an image widen its column; columns are separated by ``gap`` spaces.
    """
    if len(images) != len(captions):
        raise ValueError(f"expected one caption per image, got {len(images)} images and {len(captions)} captions")
    pictures = [image_to_text(image) for image in images]
    widths = [max(len(picture[0]), len(caption)) for picture, caption in zip(pictures, captions)]
    rows = []
    for line in range(max(len(picture) for picture in pictures)):
        cells = [picture[line] if line < len(picture) else "" for picture in pictures]
        rows.append((" " * gap).join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip())
    rows.append((" " * gap).join(caption.ljust(width) for caption, width in zip(captions, widths)).rstrip())
    return "\n".join(rows)


def format_confusion_matrix(matrix, class_names=None):
    """A confusion matrix (C, C) of counts, rows = true class, columns = predicted class -> text.

    Rows and columns are numbered by class index; a class's name, when it has one, ends its row.
    The diagonal (correct predictions) is in square brackets, so the mistakes stand out::

        rows: true class, columns: predicted class, [n] = correct
                 0     1
        true 0  [5]    1   cat
        true 1    0  [12]  dog
    """
    counts = np.asarray(matrix)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"expected a square matrix (C, C), got shape {counts.shape}")
    size = counts.shape[0]
    names = [str(name) for name in class_names] if class_names is not None else [str(i) for i in range(size)]
    if len(names) != size:
        raise ValueError(f"expected {size} class names, got {len(names)}")
    named = names != [str(i) for i in range(size)]
    cell = max(len(str(int(counts.max(initial=0)))) + 2, len(str(size - 1))) + 1
    label = len(str(size - 1))
    lines = ["rows: true class, columns: predicted class, [n] = correct"]
    lines.append(" " * (label + 5) + "".join(f"{j} ".rjust(cell) for j in range(size)))
    for i, row in enumerate(counts):
        cells = "".join((f"[{int(v)}]" if i == j else f"{int(v)} ").rjust(cell) for j, v in enumerate(row))
        lines.append(f"true {str(i).rjust(label)}{cells}" + (f"  {names[i]}" if named else ""))
    return "\n".join(line.rstrip() for line in lines)


def format_metrics(metrics, skip=()):
    """{"loss": 0.1234, "accuracy": 0.97, ...} -> 'loss 0.1234  accuracy 0.9700' (numbers only)."""
    parts = []
    for name, value in metrics.items():
        if (
            name not in skip
            and isinstance(value, (int, float, np.floating, np.integer))
            and not isinstance(value, bool)
        ):
            parts.append(f"{name} {float(value):.4f}")
    return "  ".join(parts)
