package offline_test
import ("testing";"os";"runtime/pprof";"github.com/obslint/obslint/internal/offline";"github.com/obslint/obslint/checks";"github.com/obslint/obslint/checks/catalogue")
func TestProf(t *testing.T){
 f,_:=os.Create("/tmp/cpu.prof"); pprof.StartCPUProfile(f); defer pprof.StopCPUProfile()
 in,err:=offline.Open(offline.Files{Logs:"/tmp/bench/logs.jsonl"}, offline.DefaultLimits, nil); if err!=nil{t.Fatal(err)}
 j:=checks.NewJudge(in.Evidence, catalogue.All(), checks.Options{ResolveProfile:true})
 n,err:=in.Judge(j); t.Log(n,err)
 j.Result()
}
