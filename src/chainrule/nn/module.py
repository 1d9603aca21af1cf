"""``Module``: the base class of every layer and model, with PyTorch's semantics.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it (in ordered dicts, so that
optimizers, checkpoints and seeds see a stable order); ``register_buffer`` registers non-learnable
state. ``state_dict`` walks the tree with dotted names (``"0.weight"``, ``"encoder.fc.bias"``),
exactly PyTorch's keys, so a PyTorch state dict converted to NumPy arrays loads here.
"""

import itertools
from collections import OrderedDict, namedtuple

from .. import backend, dtypes
from ..autograd.grad_mode import no_grad
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor
from .parameter import Parameter

__all__ = ["Module", "RemovableHandle"]

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class RemovableHandle:
    """Returned by ``register_forward_hook`` and friends; ``handle.remove()`` unregisters the hook.
    Also a context manager: the hook is removed on leaving the ``with`` block."""

    _ids = itertools.count()

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


class Module:
    """Base class of layers and models: subclass it, build sub-layers in ``__init__``, compute in
    ``forward``, and call the module (``model(x)``), which runs the hooks and ``forward``.

    Example::

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(784, 128)        # registered as "fc1"
                self.fc2 = nn.Linear(128, 10)

            def forward(self, x):                     # x: (N, 784) -> (N, 10)
                return self.fc2(F.relu(self.fc1(x)))

        model = MLP()
        [name for name, _ in model.named_parameters()]
        # ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    """

    training: bool

    def __init__(self):
        set_attribute = object.__setattr__  # our __setattr__ needs these dicts to exist
        set_attribute(self, "training", True)
        set_attribute(self, "_parameters", OrderedDict())
        set_attribute(self, "_buffers", OrderedDict())
        set_attribute(self, "_non_persistent_buffers_set", set())
        set_attribute(self, "_modules", OrderedDict())
        set_attribute(self, "_forward_pre_hooks", OrderedDict())
        set_attribute(self, "_forward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        # The hot path: one dict-emptiness test per call when no hooks are registered (and a try
        # block, free until something raises).
        try:
            if self._forward_pre_hooks or self._forward_hooks:
                return self._call_with_hooks(args, kwargs)
            return self.forward(*args, **kwargs)
        except (ShapeError, DTypeError) as error:
            _name_layer(error, self)
            raise

    def _call_with_hooks(self, args, kwargs):
        for hook in list(self._forward_pre_hooks.values()):
            result = hook(self, args)
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            result = hook(self, args, output)
            if result is not None:
                output = result
        return output

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before each ``forward``; a non-None result replaces ``args``.
        Returns a handle with ``.remove()``."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after each ``forward``; a non-None result replaces the
        output. Returns a handle with ``.remove()``."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name, value):
        params = self.__dict__.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")  # a reassigned parameter keeps its place in the order
            self.register_parameter(name, value)
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' (nn.Parameter or None expected)"
                )
            params[name] = None
        elif isinstance(value, Module):
            modules = self.__dict__.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            modules[name] = value
        elif name in self.__dict__.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)"
                )
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep):
        """Remove ``name`` from the instance dict and every registry but ``keep`` (before registering it there)."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__[registry].pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the registries.
        registries = self.__dict__
        if "_parameters" in registries:
            parameters, buffers, modules = registries["_parameters"], registries["_buffers"], registries["_modules"]
            if name in parameters:
                return parameters[name]
            if name in buffers:
                return buffers[name]
            if name in modules:
                return modules[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__[registry]
            if name in entries:
                del entries[name]
                self._non_persistent_buffers_set.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    def _check_new_name(self, kind, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got "{name}"')

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter, or None for an absent one such as a missing bias) as ``name``."""
        self._check_new_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' (nn.Parameter or None required)"
            )
        if param is not None and param.grad_fn is not None:
            raise ValueError(
                f"cannot assign non-leaf Tensor to parameter '{name}': model parameters must be created explicitly; "
                "to express '{name}' as a function of another Tensor, compute the value in forward()"
            )
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register non-learnable state (e.g. running statistics) as ``name``; ``persistent=False``
        keeps it out of ``state_dict``."""
        self._check_new_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Register ``module`` (or None) as the child ``name``: ``self.add_module("fc", nn.Linear(2, 3))``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._check_new_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at a dotted path: ``model.get_submodule("encoder.0")``."""
        module = self
        for part in target.split(".") if target else ():
            if part not in module._modules or module._modules[part] is None:
                raise AttributeError(f"{module._get_name()} has no submodule `{part}` (looking up '{target}')")
            module = module._modules[part]
        return module

    def get_parameter(self, target):
        """The parameter at a dotted path: ``model.get_parameter("0.weight")``."""
        module_path, _, name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if name not in module._parameters:
            raise AttributeError(f"{module._get_name()} has no parameter `{name}` (looking up '{target}')")
        return module._parameters[name]

    # ----------------------------------------------------------------- traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(dotted_name, module)`` for this module and every descendant, each module once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            yield from module.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """Yield ``(name, module)`` for the direct children, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and module not in seen:
                seen.add(module)
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry, prefix, recurse, remove_duplicate=True):
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, value in module.__dict__[registry].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield module_prefix + ("." if module_prefix else "") + name, value

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(dotted_name, Parameter)`` in registration order; a shared parameter once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Yield every Parameter (for an optimizer: ``optim.SGD(model.parameters(), lr=0.1)``)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ----------------------------------------------------------------- state dict
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An OrderedDict of every parameter and persistent buffer under PyTorch's dotted names.

        Values are detached tensors sharing storage with the module (``keep_vars=True``: the
        Parameters themselves).

        Example::

            >>> nn.Sequential(nn.Linear(2, 3)).state_dict().keys()
            odict_keys(['0.weight', '0.bias'])
        """
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        return destination

    def _load_from_state_dict(
        self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
    ):
        """Copy this module's own entries (not its children's) from ``state_dict``; note what is
        missing or mismatched. Layers with versioned state may override it, as in PyTorch."""
        persistent_buffers = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local_state = {
            k: v for k, v in itertools.chain(self._parameters.items(), persistent_buffers.items()) if v is not None
        }
        for name, target in local_state.items():
            key = prefix + name
            if key not in state_dict:
                missing_keys.append(key)
                continue
            source = _as_array_on(state_dict[key], target)
            if source is None:
                error_msgs.append(
                    f'While copying the parameter named "{key}", expected a Tensor or a NumPy array from checkpoint '
                    f"but received {type(state_dict[key]).__name__}"
                )
                continue
            if tuple(source.shape) != tuple(target.shape):
                error_msgs.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(source.shape)} from checkpoint, "
                    f"the shape in current model is {tuple(target.shape)}."
                )
                continue
            if not _casts_within_kind(source.dtype, target._data.dtype):
                error_msgs.append(
                    f"dtype mismatch for {key}: copying a param with dtype {source.dtype} from checkpoint, the dtype "
                    f"in current model is {target._data.dtype} (a cast would change the values' kind)."
                )
                continue
            with no_grad():
                target.copy_(source)

    def load_state_dict(self, state_dict, strict=True):
        """Copy parameters and buffers from ``state_dict`` (Tensors or NumPy arrays) into this module's
        storage. Every missing key, unexpected key, shape mismatch and dtype mismatch is listed in one
        RuntimeError; with ``strict=False`` missing and unexpected keys are allowed and returned as
        ``(missing_keys, unexpected_keys)`` (mismatches still raise, as in PyTorch).

        Dtypes: a value is cast to the parameter's dtype, as PyTorch's ``copy_`` does, when the cast
        stays within NumPy's "same_kind" rule (float64 -> float32, int64 -> float32, bool -> int).
        PyTorch also casts across kinds silently (2.7 into an int64 buffer becomes 2); chainrule
        reports those as dtype mismatches instead (float -> int, int -> bool, complex -> float,
        signed -> unsigned).

        Example::

            >>> arrays = {k: v.numpy() for k, v in torch_model.state_dict().items()}
            >>> model.load_state_dict(arrays)
            IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        """
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(
                f"expected a mapping (dict or OrderedDict) of names to arrays, got {type(state_dict).__name__}"
            )
        missing_keys, unexpected_keys, error_msgs = [], [], []
        expected = set()
        for module_prefix, module in self.named_modules(remove_duplicate=False):
            dotted = module_prefix + "." if module_prefix else ""
            module._load_from_state_dict(state_dict, dotted, {}, strict, missing_keys, unexpected_keys, error_msgs)
            expected.update(dotted + name for name in module._parameters)
            expected.update(dotted + name for name in module._buffers if name not in module._non_persistent_buffers_set)
        unexpected_keys.extend(key for key in state_dict.keys() if key not in expected)
        missing_keys[:] = list(dict.fromkeys(missing_keys))  # a module shared by two names is visited twice
        error_msgs[:] = list(dict.fromkeys(error_msgs))
        if strict:
            if unexpected_keys:
                error_msgs.insert(
                    0, "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected_keys))
                )
            if missing_keys:
                error_msgs.insert(
                    0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing_keys))
                )
        if error_msgs:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t" + "\n\t".join(error_msgs))
        return IncompatibleKeys(missing_keys, unexpected_keys)

    # ----------------------------------------------------------------- modes and gradients
    def train(self, mode=True):
        """Set training mode (``mode=True``) or evaluation mode on this module and all descendants."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        """Evaluation mode (Dropout passes through, BatchNorm uses running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Ask (or stop asking) for every parameter's gradient, e.g. to freeze a layer; returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad``: set it to None (default) or fill it with zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                grad = param.grad
                if grad.grad_fn is not None:
                    grad.detach_()
                grad.requires_grad = False
                grad.zero_()

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant (children first) and then on self; returns self.
        ``model.apply(init_weights)`` is the usual way to re-initialise a model."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # ----------------------------------------------------------------- dtype and device
    def _apply(self, convert):
        """Replace every parameter's and buffer's data by ``convert(tensor)``, keeping the Parameter
        objects (so an optimizer built before ``model.to(...)`` still holds them)."""
        for module in self.modules():
            for param in module._parameters.values():
                if param is None:
                    continue
                param._data = convert(param)._data
                if param.grad is not None:
                    param.grad = Tensor._wrap(convert(param.grad)._data)
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    module._buffers[name] = convert(buffer)
        return self

    def to(self, *args, device=None, dtype=None):
        """Move and/or cast parameters and buffers in place: ``model.to("cuda")``, ``model.to(cr.float64)``.
        Only floating-point tensors change dtype, as in PyTorch; returns self."""
        for arg in args:
            if isinstance(arg, dtypes.dtype):
                dtype = arg
            elif isinstance(arg, (str, backend.Device)):
                device = arg
            elif isinstance(arg, Tensor):
                dtype, device = arg.dtype, arg.device
            else:
                raise TypeError(f"Module.to() expects a device, a dtype or a Tensor, got {type(arg).__name__}")
        if dtype is not None and dtypes.to_numpy(dtype).kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dtype}")
        if device is not None:
            device = backend.Device(device)

        def convert(tensor):
            with no_grad():
                return tensor.to(device=device, dtype=dtype if tensor.is_floating_point() else None)

        return self._apply(convert)

    def cpu(self):
        return self.to(device="cpu")

    def cuda(self, device=None):
        """Move to a GPU (needs CuPy): ``model.cuda()``, ``model.cuda(1)``."""
        return self.to(device=backend.Device("cuda", device) if device is None or isinstance(device, int) else device)

    def float(self):
        return self.to(dtype=dtypes.float32)

    def double(self):
        return self.to(dtype=dtypes.float64)

    def half(self):
        return self.to(dtype=dtypes.float16)

    # ----------------------------------------------------------------- printing
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """The text inside this module's parentheses in ``repr`` (layers override it)."""
        return ""

    def __repr__(self):
        extra_lines = self.extra_repr().split("\n") if self.extra_repr() else []
        child_lines = [f"({name}): " + _add_indent(repr(module), 2) for name, module in self._modules.items()]
        return _module_repr(self._get_name(), extra_lines, child_lines)


def _module_repr(name, extra_lines, child_lines):
    """PyTorch's layout: ``Name(extra)`` on one line, or one indented line per extra line and child."""
    lines = extra_lines + child_lines
    text = name + "("
    if lines:
        if len(extra_lines) == 1 and not child_lines:
            text += extra_lines[0]
        else:
            text += "\n  " + "\n  ".join(lines) + "\n"
    return text + ")"


def _add_indent(text, spaces):
    """Indent every line but the first by ``spaces``."""
    first, *rest = text.split("\n")
    if not rest:
        return text
    return first + "\n" + "\n".join(" " * spaces + line for line in rest)


def _casts_within_kind(source, target):
    """NumPy's "same_kind" rule: safe casts, and casts within a kind or up it (int -> float)."""
    try:
        return bool(backend.numpy_namespace.can_cast(source, target, casting="same_kind"))
    except TypeError:  # a dtype NumPy does not know
        return source == target


def _name_layer(error, module):
    """Give a shape or dtype error the dotted name of the layer that raised it, as seen from
    ``module`` (each enclosing module's call renames it on the way out), e.g.
    "Conv2d 'features.0' expected input with 3 channels, got (N=8, C=1, 28, 28)"."""
    layer = getattr(error, "layer", None)
    if layer is None:  # raised in this module's own forward: this is the layer
        error.layer, error.layer_path, error.unnamed_message = module, "", str(error)
    else:
        child = error.layer_caller
        name = next((name for name, found in module.named_modules() if found is child and name), None)
        if name is None:  # called from outside this module's tree: the path stops here
            return
        error.layer_path = name + ("." + error.layer_path if error.layer_path else "")
    error.layer_caller = module
    if error.layer_path:
        kind, message = type(error.layer).__name__, error.unnamed_message
        if message.startswith(kind + " "):
            message = f"{kind} '{error.layer_path}' {message[len(kind) + 1 :]}"
        else:
            message = f"{kind} '{error.layer_path}': {message}"
        error.args = (message,)


def _as_array_on(value, target):
    """A state-dict value (Tensor or array) as an array on ``target``'s device, or None if it is neither."""
    if isinstance(value, Tensor):
        array = value._data
    elif hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "__array__"):
        array = value
    else:
        return None
    if backend.device_of(array) != target.device:
        array = backend.to_device(array, target.device)
    return array
