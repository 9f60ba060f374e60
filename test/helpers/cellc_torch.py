# What every Python-side test helper does with a generated PyTorch module (torch_parity.py,
# torch_weights.py, test/fuzz/torch_fuzz.py): load the module file under a name of its own, and
# call its Cell the way the module's signature asks (inputs, or the step count when the cell has
# none), with several states or outputs as a tuple and one as itself.
import importlib.util


def load_module(path, name):
    """The generated module at `path`, imported as `name` (a fresh name per file: no clash)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def as_list(x):
    """A module's outputs or states as a list: a tuple's items, or the one tensor."""
    return list(x) if isinstance(x, tuple) else [x]


def pack(items):
    """The inverse of as_list: one item as itself, several as a tuple."""
    return items[0] if len(items) == 1 else tuple(items)


def call_cell(cell, T, B, inputs, state, lengths, masks):
    """cell(*inputs, ...) or, for a cell without inputs, cell(T, ..., batch_size=B)."""
    if inputs:
        return cell(*inputs, state=state, lengths=lengths, state_masks=masks)
    return cell(T, state=state, lengths=lengths, state_masks=masks, batch_size=B)

