// Names of the PyTorch module's own namespace: the attribute each parameter is stored under (and
// so its state_dict key). A parameter keeps its spec name unless that name cannot be an attribute
// of an nn.Module — a Python keyword, a member nn.Module already has, or one of the generated
// class's own members — in which case it becomes p_<name> (then p_<name>_2, ...). The cellc side
// (runtime/interop/torch.ts) computes the same names, so either spelling loads.

const PY_KEYWORDS = new Set(
  ("False None True and as assert async await break class continue def del elif else except finally for from " +
    "global if import in is lambda nonlocal not or pass raise return try while with yield").split(" "),
);

/** Members of torch.nn.Module (1.13, and a few later versions add) that a parameter must not shadow. */
const MODULE_MEMBERS = new Set(
  ("T_destination add_module apply bfloat16 buffers children compile cpu cuda double dump_patches eval extra_repr " +
    "float forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules mtia " +
    "named_buffers named_children named_modules named_parameters parameters register_backward_hook " +
    "register_buffer register_forward_hook register_forward_pre_hook register_full_backward_hook " +
    "register_full_backward_pre_hook register_load_state_dict_post_hook register_load_state_dict_pre_hook " +
    "register_module register_parameter register_state_dict_hook register_state_dict_post_hook " +
    "register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory smart_apply state_dict " +
    "to to_empty train training type xpu zero_grad call_super_init").split(" "),
);

/** Members the generated class defines itself (backends/torch/module.ts). */
export const CLASS_MEMBERS = new Set(["batch_first", "reset_parameters", "cellc_state_dict", "load_cellc_state_dict", "load_cellc", "save_cellc"]);

function usable(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !name.startsWith("_") && !PY_KEYWORDS.has(name) && !MODULE_MEMBERS.has(name) && !CLASS_MEMBERS.has(name);
}

/** The attribute (state_dict key) of each parameter, in order: spec names where possible. */
export function torchAttributeNames(specNames: readonly string[]): string[] {
  const taken = new Set(specNames.filter(usable));
  return specNames.map((n) => {
    if (usable(n)) return n;
    const base = `p_${n.replace(/[^A-Za-z0-9_]/g, "_")}`;
    let name = base;
    for (let i = 2; taken.has(name) || !usable(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  });
}
