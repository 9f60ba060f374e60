import importlib.util, sys, torch
from torch.profiler import profile, ProfilerActivity
torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("cell", sys.argv[1]); mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
T,B,I,H=50,32,64,128
x=torch.randn(T,B,I); h0=torch.zeros(B,H); dy=torch.randn(T,B,H)
cell=mod.Cell()
st=(h0,h0) if len(mod.META["states"])==2 else h0
def step():
    y, s = cell(x, state=st)
    s = list(s) if isinstance(s, tuple) else [s]
    ((y*dy).sum()+sum(a.sum() for a in s)).backward()
for _ in range(5): step()
with profile(activities=[ProfilerActivity.CPU]) as p:
    for _ in range(5): step()
print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=18))
