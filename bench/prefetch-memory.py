#!/usr/bin/env python3
"""Memory and time of a hook whose prefetch is huge (issue 13 item 7): the service as its own process, prefetch only (no FHIR
server), auth off. Prints the status, elapsed time and the process's RSS before, at peak and after, for
  one body of 5,000 Observations under `labs` (the default per-key cap, so it is read), one 25.5 MB body of 100,000, then three
  40,000-Observation bodies at once.
Usage: bench/prefetch-memory.py [SERVICE_DIR]   (SERVICE_DIR: src/CdsRisk.Api of a Release build; default this checkout's)
Nothing here asserts a number."""
import json, os, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request, uuid

repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
service_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(repo, "src", "CdsRisk.Api"))
dll = os.path.join(service_dir, "bin", "Release", "net10.0", "CdsRisk.Api.dll")
port = 18000 + os.getpid() % 1000
base = f"http://127.0.0.1:{port}"


def observation(i):
    return {"resourceType": "Observation", "id": f"o{i}", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "1834-1"}]},
            "subject": {"reference": "Patient/p1"}, "effectiveDateTime": "2026-11-20",
            "valueQuantity": {"value": 12 + i % 7, "unit": "ng/mL"}}


def body(count):
    keys = ["conditions", "clinical-observations", "allergies", "medication-statements", "medication-requests", "procedures",
            "service-requests", "appointments", "mr-imaging-studies"]
    prefetch = {"patient": {"resourceType": "Patient", "id": "p1", "gender": "male", "birthDate": "1964-03-02"}}
    for k in keys:
        prefetch[k] = {"resourceType": "Bundle", "type": "searchset", "entry": []}
    prefetch["labs"] = {"resourceType": "Bundle", "type": "searchset",
                        "entry": [{"resource": observation(i)} for i in range(count)]}
    # 100,000 of these make a 25.5 MB body, close to the 24.6 MB (Kestrel's default limit is 30 MB).
    return json.dumps({"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                       "context": {"userId": "Practitioner/1", "patientId": "p1"}, "prefetch": prefetch}, separators=(",", ":")).encode()


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def post(data, out):
    start = time.monotonic()
    req = urllib.request.Request(base + "/cds-services/nct07282184-patient-view", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    except urllib.error.URLError as e:
        status, text = 0, str(e.reason).encode()
    out.append((status, time.monotonic() - start, text[:300].decode(errors="replace")))


def measure(pid, label, bodies):
    peak = [rss_kib(pid)]
    before = peak[0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    results = []
    threads = [threading.Thread(target=post, args=(b, results)) for b in bodies]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    time.sleep(1)
    done.set()
    sampler.join()
    after = rss_kib(pid)
    print(f"{label}: {len(bodies)} x {len(bodies[0]) / 1e6:.1f} MB; wall {elapsed:.1f} s; "
          f"RSS before {before / 1024:.0f} MiB, peak {peak[0] / 1024:.0f} MiB (+{(peak[0] - before) / 1024:.0f}), after {after / 1024:.0f} MiB")
    for status, seconds, text in results:
        print(f"   HTTP {status} in {seconds:.1f} s: {text[:160]}")


def main():
    state = tempfile.mkdtemp(prefix="cdsrisk-prefetch-mem-")
    env = dict(os.environ, ASPNETCORE_URLS=base, ASPNETCORE_ENVIRONMENT="Development", Storage__Sqlite__Path=os.path.join(state, "cdsrisk.db"),
               Logging__LogLevel__Default="Warning", Pipeline__EvaluationCacheSeconds="0")
    proc = subprocess.Popen(["dotnet", dll], cwd=service_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/readyz", timeout=1).read()  # 503 (an error here) until warmed up
                break
            except Exception:
                time.sleep(0.1)
        small = body(20)
        for _ in range(5):  # warm: model tables, JSON paths
            post(small, [])
        measure(proc.pid, "5k Observations (the default per-key cap: read in full)", [body(5_000)])
        measure(proc.pid, "100k Observations", [body(100_000)])
        measure(proc.pid, "3 x 40k Observations at once", [body(40_000) for _ in range(3)])
        print(f"VmHWM (peak RSS of the process): {rss_kib(proc.pid, 'VmHWM') / 1024:.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


main()
