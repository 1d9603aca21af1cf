"""``print(trace)``: a ``BackwardTrace`` as two aligned tables, the steps and the δ of each layer."""

DELTA_HINT = (
    "(δ of each layer: pass the loss as a function and the model, e.g. "
    "trace_backward(lambda: loss_fn(model(x), y), model=model))"
)


def format_trace(trace):
    """The steps (one row per gradient sent, the rule under each step), then the δs."""
    loss = trace.loss
    value = float(loss.detach().cpu().numpy().reshape(-1)[0])
    lines = [
        f"Backward pass of a loss of shape {tuple(loss.shape)}, value {value:.6g}: "
        f"{len(trace.steps)} steps in execution order",
        "each node receives g = ∂L/∂(its output) and sends ∂L/∂(each input); ‖·‖ is the 2-norm",
        "",
    ]
    rows = [("step", "node", "op", "received", "‖g‖", "sent to", "shape", "‖g‖")]
    notes = {}  # row index -> the rule printed under it
    for step in trace.steps:
        head = (str(step.index), step.id or "?", step.name, str(step.received.shape), _number(step.received.norm))
        if step.parameter is not None:
            rows.append(head + (f"{step.parameter}.grad", str(step.received.shape), _number(step.received.norm)))
        else:
            sends = [_send(trace, target, stat) for target, stat in zip(step.targets, step.sent)] or [("", "", "")]
            rows.append(head + sends[0])
            rows.extend(("",) * 5 + send for send in sends[1:])
        notes[len(rows) - 1] = step.rule
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    rule_indent = sum(width + 2 for width in widths[:2])
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(widths[0]) if column == 0 else cell.ljust(widths[column]) for column, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index in notes:
            lines.append(" " * rule_indent + "rule: " + notes[index])
    lines += ["", *format_deltas(trace)]
    return "\n".join(lines)


def format_deltas(trace):
    """The δ table: one row per submodule output, in forward order."""
    if not trace.deltas:
        return [DELTA_HINT] if not trace.deltas_captured else ["(no submodule output received a gradient)"]
    rows = [("module", "type", "shape", "‖δ‖")]
    for delta in trace.deltas:
        where = delta.module + (f"#{delta.call}" if delta.call else "")
        where += f"[{delta.output}]" if delta.output is not None else ""
        norm = "(no gradient)" if delta.norm is None else _number(delta.norm)
        rows.append((where, delta.type, str(delta.shape), norm))
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = ["δ of each layer: ∂L/∂(each submodule's output), in forward order"]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return lines


def _send(trace, target, stat):
    if stat is None:
        return ("- (needs no grad)", "", "")
    return (f"{target} {trace.names.get(target, '?')}", str(stat.shape), _number(stat.norm))


def _number(value):
    return f"{value:.6g}"
