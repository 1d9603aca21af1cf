"""The backward rule of an op, read from the op's own docstring (there is no second table of rules).

Every ``Function`` subclass states its forward and its derivative at the top of its docstring,
e.g. MatMul's "C = A·B.   ∂L/∂A = G·Bᵀ,  ∂L/∂B = Aᵀ·G". Where the first paragraph states only
the forward (Linear, the fused losses), the derivative is in the next paragraph that has one.
"""

import inspect
import re

_DERIVATIVE = re.compile(r"∂|\bd\w*/d\w+")  # ∂L/∂x, dy/dx, dz/da


def rule_of(node):
    """The rule ``node`` (a ``Function``) applies, on one line, from its class's docstring.

    Example::

        >>> rule_of(MatMul())
        'C = A·B.   ∂L/∂A = G·Bᵀ,  ∂L/∂B = Aᵀ·G'
    """
    for cls in type(node).__mro__:
        doc = cls.__dict__.get("__doc__")
        if doc:
            break
    else:
        return ""
    paragraphs = [paragraph.splitlines() for paragraph in inspect.cleandoc(doc).split("\n\n")]
    lines = list(paragraphs[0])
    if not any(_DERIVATIVE.search(line) for line in lines):
        for paragraph in paragraphs[1:]:
            found = [i for i, line in enumerate(paragraph) if _DERIVATIVE.search(line)]
            if found:
                end = found[0]
                while paragraph[end].rstrip().endswith(":") and end + 1 < len(paragraph):
                    end += 1  # "With G = ∂L/∂y …:" introduces the rule on the next line
                lines += paragraph[: end + 1]
                break
    return " ".join(line.strip() for line in lines)
