"""Containers: ``Sequential`` (a chain), ``ModuleList`` and ``ModuleDict`` (registered collections).

Their children are named as in PyTorch ("0", "1", ... or the dict's keys), so a container's
state dict has PyTorch's keys ("0.weight", "encoder.1.bias").
"""

import operator
from collections import OrderedDict
from collections.abc import Mapping

from .module import Module, _add_indent, _module_repr

__all__ = ["ModuleDict", "ModuleList", "Sequential"]


def _checked(module, container):
    if not isinstance(module, Module):
        raise TypeError(f"{container}: expected a Module, got {type(module).__name__}")
    return module


def _index(index, length, container):
    """A non-negative position for ``index`` in a container of ``length`` items, or IndexError."""
    index = operator.index(index)
    if not -length <= index < length:
        raise IndexError(f"{container}: index {index} is out of range for {length} modules")
    return index % length


class Sequential(Module):
    """Modules applied one after another, each to the previous one's output.

    Example::

        >>> model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
        >>> model(cr.randn(32, 784)).shape                    # (32, 784) -> (32, 10)
        (32, 10)
        >>> named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.Tanh())]))
        >>> list(named.state_dict())
        ['fc.weight', 'fc.bias']
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, _checked(module, "Sequential"))
        else:
            for position, module in enumerate(args):
                self.add_module(str(position), _checked(module, "Sequential"))

    def forward(self, input):  # noqa: A002 - PyTorch's argument name
        for module in self._modules.values():
            input = module(input)
        return input

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[_index(index, len(self), "Sequential")]

    def __setitem__(self, index, module):
        key = list(self._modules)[_index(index, len(self), "Sequential")]
        setattr(self, key, _checked(module, "Sequential"))

    def __delitem__(self, index):
        keys = list(self._modules)
        for key in keys[index] if isinstance(index, slice) else [keys[_index(index, len(self), "Sequential")]]:
            delattr(self, key)
        # renumber, as PyTorch does, so that names stay "0", "1", ... when they were numbers
        if all(key.isdigit() for key in keys):
            modules = list(self._modules.values())
            self._modules.clear()
            for position, module in enumerate(modules):
                self._modules[str(position)] = module

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _checked(module, "Sequential"))
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        """Put ``module`` before position ``index``."""
        _checked(module, "Sequential")
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for position, item in enumerate(modules):
            self._modules[str(position)] = item
        return self


class ModuleList(Module):
    """A list of modules whose parameters the parent registers (a plain Python list would hide them).

    Example::

        >>> layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(3)])
        >>> len(list(layers.parameters()))
        6
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._modules.values())[index])
        return self._modules[str(_index(index, len(self), "ModuleList"))]

    def __setitem__(self, index, module):
        setattr(self, str(_index(index, len(self), "ModuleList")), _checked(module, "ModuleList"))

    def __delitem__(self, index):
        keys = list(self._modules)
        for key in keys[index] if isinstance(index, slice) else [keys[_index(index, len(self), "ModuleList")]]:
            del self._modules[key]
        modules = list(self._modules.values())
        self._modules.clear()
        for position, module in enumerate(modules):
            self._modules[str(position)] = module

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _checked(module, "ModuleList"))
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, _checked(module, "ModuleList"))
        self._modules.clear()
        for position, item in enumerate(modules):
            self._modules[str(position)] = item

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward(): iterate over it and call its modules")

    def __repr__(self):
        """PyTorch's layout, with runs of identical modules folded: ``(0-2): 3 x Linear(...)``."""
        reprs = [repr(module) for module in self._modules.values()]
        if not reprs:
            return self._get_name() + "()"
        lines, start = [], 0
        for end in range(1, len(reprs) + 1):
            if end < len(reprs) and reprs[end] == reprs[start]:
                continue
            text = _add_indent(reprs[start], 2)
            if end - start == 1:
                lines.append(f"({start}): {text}")
            else:
                lines.append(f"({start}-{end - 1}): {end - start} x {text}")
            start = end
        return _module_repr(self._get_name(), [], lines)


class ModuleDict(Module):
    """A dict of modules (insertion-ordered) whose parameters the parent registers.

    Example::

        >>> heads = nn.ModuleDict({"class": nn.Linear(8, 10), "box": nn.Linear(8, 4)})
        >>> list(heads.state_dict())
        ['class.weight', 'class.bias', 'box.weight', 'box.bias']
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(key, _checked(module, "ModuleDict"))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self):
        self._modules.clear()

    def pop(self, key):
        module = self._modules[key]
        del self[key]
        return module

    def update(self, modules):
        """Add (name, module) pairs from a mapping or an iterable of pairs."""
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for entry in pairs:
            if len(entry) != 2:
                raise ValueError(
                    f"ModuleDict.update: expected (name, module) pairs, got an entry of length {len(entry)}"
                )
            self[entry[0]] = entry[1]

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward(): look up its modules by name and call them")
