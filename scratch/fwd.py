import importlib.util, sys, time, statistics, torch
torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("cell", sys.argv[1]); mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
T,B,I,H=50,32,64,128
x=torch.randn(T,B,I); h0=torch.zeros(B,H)
cell=mod.Cell(); ps=list(cell.parameters())
m=[torch.ones(B,H)]*2; a=torch.ones(T,B,1)
f=mod._lstm_forward_unmasked_script
lstm=torch.nn.LSTM(I,H)
runs={"module":lambda: cell(x,state=(h0,h0)), "script direct":lambda: f(x,h0,h0,m[0],m[1],a,*ps), "Function.apply":lambda: mod._lstm_function.apply(True,x,h0,h0,m[0],m[1],a,*ps), "nn.LSTM": lambda: lstm(x)}
ts={k:[] for k in runs}
with torch.no_grad():
  for _ in range(3):
    for r in runs.values(): r()
  for _ in range(15):
    for k,r in runs.items():
      t0=time.perf_counter(); r(); ts[k].append(time.perf_counter()-t0)
for k in runs: print(k, round(statistics.median(ts[k])*1e3,1))
from torch.profiler import profile, ProfilerActivity
with torch.no_grad():
  with profile(activities=[ProfilerActivity.CPU]) as p:
    for _ in range(5): f(x,h0,h0,m[0],m[1],a,*ps)
  print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
  with profile(activities=[ProfilerActivity.CPU]) as p:
    for _ in range(5): lstm(x)
  print(p.key_averages().table(sort_by="self_cpu_time_total", row_limit=8))
