using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.Cli.Demo;

/// <summary>
/// <c>cdsrisk-cli demo</c>: starts the service against the running test servers, then plays the EHR for every seeded
/// patient (patient-view, and order-select where a hepatectomy is being ordered), printing the cards, and keeps the
/// service up until Ctrl-C. <c>./demo.sh</c> prepares the servers and the patients and then calls this.
/// </summary>
public static class DemoCommand
{
    /// <summary>The issuer the demo client signs as; the service is configured to trust it with the demo JWKS.</summary>
    public const string DemoIssuer = "https://demo-ehr.cdsrisk.example.org";

    private static readonly TimeSpan PendingPatience = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan WriteBackPatience = TimeSpan.FromSeconds(60);

    /// <summary>Entry point for the CLI's <c>demo</c> verb (its options: <see cref="CliCommandLine"/>). Returns 0 on success, 1 when the
    /// demo could not run, 3 when some hook call did not answer 200, 4 when a scenario did not show what it was designed to show
    /// (both with <c>--no-wait</c>).</summary>
    public static async Task<int> RunAsync(DemoOptions options)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        // demo.sh (or a dying parent, through PDEATHSIG) stops us with SIGTERM: shut the service down the same way.
        using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
        {
            ctx.Cancel = true;
            cts.Cancel();
        });
        try
        {
            return await RunCoreAsync(options, cts.Token);
        }
        catch (DemoException ex)
        {
            await Console.Error.WriteLineAsync($"demo: {ex.Message}");
            return 1;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("demo: stopped");
            return 0;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
    }

    private static async Task<int> RunCoreAsync(DemoOptions options, CancellationToken cancellationToken)
    {
        var env = ReadJson(options.EnvFile, "test environment");
        var manifest = ReadJson(options.ManifestFile, "seed manifest");
        var fhirBase = Required(env, "fhirBaseUrl", options.EnvFile);
        var fhirToken = Required(env, "fhirToken", options.EnvFile);
        var dicomWebBase = Required(env, "dicomWebBaseUrl", options.EnvFile);
        var patients = (manifest["patients"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Where(p => options.Only is null || options.Only.Contains((string?)p["scenario"] ?? ""))
            .Select(DemoPatient.From)
            .ToList();
        if (patients.Count == 0) throw new DemoException($"no seeded patients in {options.ManifestFile}");

        Directory.CreateDirectory(options.WorkDir);
        using var signer = new CdsClientSigner(DemoIssuer);
        var jwksPath = Path.Combine(options.WorkDir, "demo-client.jwks.json");
        await File.WriteAllTextAsync(jwksPath, signer.JwksJson, cancellationToken);

        var progress = new ProgressLine();
        var serviceEnv = new Dictionary<string, string>(ServiceEnvironment(signer, fhirBase, dicomWebBase, options.WorkDir));
        // The port Orthanc's OnStableStudy script calls, and the scoring client it authenticates as (the study-arrival step).
        var callbackPort = StudyArrivalStep.CallbackPort(env);
        if (callbackPort is not null)
        {
            foreach (var (key, value) in StudyArrivalStep.ServiceEnvironment(env, fhirBase, fhirToken)) serviceEnv[key] = value;
        }

        // The port is chosen first: the SMART app's redirect URI, registered at the double, names it.
        var servicePort = callbackPort ?? DemoServiceHost.FreePort();
        using var appLinks = new DemoAppLinks(new Uri($"http://127.0.0.1:{servicePort}"), fhirBase, (string?)env["fhirAdminUrl"], (string?)env["fhirAdminToken"]);
        foreach (var (key, value) in appLinks.ServiceEnvironment) serviceEnv[key] = value;

        var started = Stopwatch.StartNew();
        await using var service = await DemoServiceHost.StartAsync(options.ApiProject, serviceEnv, Path.Combine(options.WorkDir, "service.log"), progress.Show, cancellationToken,
            servicePort);
        progress.Done($"service up at {service.BaseUrl} after {started.Elapsed.TotalSeconds:0.0}s");
        if (await appLinks.RegisterAsync(cancellationToken) is { } appProblem) Console.WriteLine("  SMART app: " + appProblem);

        using var ehr = new DemoEhr(service.BaseUrl, signer, new Uri(fhirBase), fhirToken);
        var printer = new CardPrinter(Console.Out);
        var services = await ehr.DiscoverAsync(cancellationToken);
        printer.Discovery(services, ehr.DiscoveryProblem);

        var rows = new List<SummaryRow>();
        for (var i = 0; i < patients.Count; i++)
        {
            var patient = patients[i];
            var withPrefetch = i % 2 == 0;
            printer.PatientHeader(i + 1, patients.Count, patient, withPrefetch);

            var label = $"[{i + 1}/{patients.Count}] {patient.Scenario}: patient-view";
            var view = await progress.WhileAsync(label, ehr.PatientViewAsync(patient, services, withPrefetch, cancellationToken));
            printer.HookResult("patient-view", view);
            var played = new List<HookResult> { view };

            // A service over its latency budget answers "pending" and finishes in the background; the next hook for the
            // patient answers from the result, as an EHR would see when the user reopens the chart.
            var reopen = Stopwatch.StartNew();
            while (view.Ok && view.IsPending && reopen.Elapsed < PendingPatience)
            {
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
                view = await progress.WhileAsync(label + " (chart reopened)", ehr.PatientViewAsync(patient, services, withPrefetch, cancellationToken));
                played.Add(view);
                if (!view.IsPending) printer.HookResult("patient-view, chart reopened", view);
            }
            HookResult? order = null;
            if (DemoEhr.OrdersHepatectomy(patient.Scenario))
            {
                order = await progress.WhileAsync($"[{i + 1}/{patients.Count}] {patient.Scenario}: order-select", ehr.OrderSelectAsync(patient, services, withPrefetch, cancellationToken));
                printer.HookResult("order-select (draft hepatectomy, CPT 47120)", order);
                played.Add(order);
            }

            HookResult? drug = null;
            if (DemoEhr.OrdersRegimenDrug(patient.Scenario))
            {
                drug = await progress.WhileAsync($"[{i + 1}/{patients.Count}] {patient.Scenario}: order-select", ehr.OrderSelectRegimenDrugAsync(patient, services, withPrefetch, cancellationToken));
                printer.HookResult("order-select (draft carboplatin, RxNorm 40048)", drug);
                played.Add(drug);
            }

            // What the table reports is settled: when an order hook saw a different outcome than the chart did (the images were
            // read in between), the chart is opened once more and that answer is the one reported.
            if (view.Ok && order?.Assessment?["outcome"] is { } later && (string?)later != (string?)view.Assessment?["outcome"])
            {
                view = await progress.WhileAsync(label + " (chart reopened)", ehr.PatientViewAsync(patient, services, withPrefetch, cancellationToken));
                printer.HookResult("patient-view, chart reopened", view);
                played.Add(view);
            }

            // Every hook's RiskAssessment write-back runs through an outbox: wait (from the audit record) until none is pending, so
            // that the count below is what the service did, not how fast it did it.
            var calls = played.Where(r => r is { Ok: true, HookInstance: not null }).Select(r => r.HookInstance!).ToList();
            var states = await progress.WhileAsync($"[{i + 1}/{patients.Count}] {patient.Scenario}: waiting for the write-back", WriteBacksSettledAsync(ehr, calls, cancellationToken));
            var written = await ehr.RiskAssessmentsAsync(patient.PatientId, cancellationToken);
            printer.RiskAssessments(fhirBase, patient.PatientId, written);
            printer.WriteBacks(states);
            printer.AppLink(await appLinks.LaunchUrlAsync(patient.PatientId, view.HookInstance, cancellationToken));
            rows.Add(new SummaryRow(patient, view, order, drug, written, states));
        }

        var arrivalFailed = callbackPort is null ? false : !await StudyArrivalAsync(env, manifest, options, fhirBase, fhirToken, dicomWebBase, ehr, services, printer, progress, cancellationToken);

        printer.Summary(rows);
        var failed = rows.Count(r => !r.View.Ok || r.Order is { Ok: false } || r.Drug is { Ok: false }) + (arrivalFailed ? 1 : 0);
        var unexpected = rows.Count(r => r.Problems.Count > 0);

        if (options.NoWait) return failed > 0 ? 3 : unexpected > 0 ? 4 : 0;
        printer.Running(service.BaseUrl, fhirBase, dicomWebBase, options.EnvFile, jwksPath, service.LogPath);
        if (appLinks.StandaloneUrl is { } standalone) Console.WriteLine($"  SMART app, trial team    {standalone}   (screening log; each patient's launch URL is printed above)");
        while (!service.HasExited)
        {
            await Task.Delay(500, cancellationToken);
        }

        throw new DemoException($"the service stopped unexpectedly; see {service.LogPath}:\n{DemoServiceHost.Tail(service.LogPath)}");
    }

    /// <summary>The write-back state of each call (hookInstance → state), once none is pending or after <see cref="WriteBackPatience"/>.</summary>
    private static async Task<IReadOnlyDictionary<string, string>> WriteBacksSettledAsync(DemoEhr ehr, IReadOnlyList<string> hookInstances, CancellationToken cancellationToken)
    {
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            foreach (var id in hookInstances)
            {
                states[id] = await ehr.WriteBackStateAsync(id, cancellationToken) ?? "unreadable";
            }

            if (states.Values.All(s => s != "pending") || clock.Elapsed > WriteBackPatience) return states;
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>
    /// A new patient's MRI is stored in Orthanc while the service runs; Orthanc asks the service to score it; the first chart open
    /// answers with that score. True when it did (not pending).
    /// </summary>
    private static async Task<bool> StudyArrivalAsync(JsonObject env, JsonObject manifest, DemoOptions options, string fhirBase, string fhirToken, string dicomWebBase,
        DemoEhr ehr, IReadOnlyDictionary<string, JsonObject> services, CardPrinter printer, ProgressLine progress, CancellationToken cancellationToken)
    {
        var entries = (manifest["patients"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var entry = entries.FirstOrDefault(p => (string?)p["scenario"] == "eligible-high-risk") ?? entries.FirstOrDefault(p => p["expected"]?["referencePre"] is JsonValue);
        if (entry?["studyInstanceUids"]?[0]?.GetValue<string>() is not { } studyUid)
        {
            return true; // no seeded study to copy (DEMO_ONLY without one): nothing to show
        }

        var source = DemoPatient.From(entry);
        Console.Out.WriteLine();
        Console.Out.WriteLine("== Study arrival: a new patient's MRI is stored in Orthanc while the service runs (nobody opens a chart)");
        var step = new StudyArrivalStep(env, fhirBase, fhirToken, dicomWebBase);
        var bundlePath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.ManifestFile))!, source.Scenario, "bundle.json");
        var patient = await progress.WhileAsync("storing the study in Orthanc (REST upload, instance by instance)",
            step.StoreStudyAsync(source, bundlePath, studyUid, cancellationToken));
        Console.Out.WriteLine($"   stored; Orthanc's OnStableStudy callback posts {{dicomPatientId, studyInstanceUid}} to /api/scoring-jobs");
        var (written, waited) = await progress.WhileAsync("waiting for the score computed at arrival (its RiskAssessment on the FHIR server)",
            StudyArrivalStep.WaitForScoreAsync(ehr, patient.PatientId, TimeSpan.FromMinutes(3), cancellationToken));
        Console.Out.WriteLine(written.Items.Count > 0
            ? $"   scored at arrival: RiskAssessment written {waited.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s after the upload, before any chart was opened"
            : $"   NOT scored at arrival within {waited.TotalMinutes:0} minutes; see {Path.Combine(options.WorkDir, "service.log")}");

        var view = await progress.WhileAsync("first chart open: patient-view", ehr.PatientViewAsync(patient, services, false, cancellationToken));
        printer.HookResult("patient-view, first chart open after the study arrived", view);
        var pre = view.Assessment?["preScore"] is JsonValue p && p.TryGetValue<double>(out var value) ? value : (double?)null;
        var ok = view.Ok && !view.IsPending && pre is not null;
        Console.Out.WriteLine(ok
            ? $"   => the FIRST chart open already has the score: PRE {pre!.Value.ToString("0.000", CultureInfo.InvariantCulture)} (computed when the study arrived; no \"pending\")"
            : "   => the first chart open did NOT have the score (pending or failed): the study-arrival path did not work");
        return ok;
    }

    /// <summary>The service configuration the demo sets (environment variables, ASP.NET Core key syntax).</summary>
    public static IReadOnlyDictionary<string, string> ServiceEnvironment(CdsClientSigner signer, string fhirBase, string dicomWebBase, string workDir) =>
        new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development", // Swagger UI
            // Development turns client authentication off by default; the demo signs like a real EHR, so it is on.
            ["Auth__Mode"] = "Required",
            ["Auth__Clients__0__Issuer"] = signer.Issuer,
            ["Auth__Clients__0__Jwks"] = signer.JwksJson,
            // The demo EHR also reads the audit API, to wait for each hook's write-back before it counts RiskAssessments.
            ["Audit__Clients__0__Issuer"] = signer.Issuer,
            ["Audit__Clients__0__Jwks"] = signer.JwksJson,
            ["Fhir__AllowedServers__0"] = fhirBase,
            ["DicomWeb__AllowedServers__0"] = dicomWebBase,
            ["Storage__Provider"] = "Sqlite",
            ["Storage__Sqlite__Path"] = Path.GetFullPath(Path.Combine(workDir, "cdsrisk.db")),
        };

    private static JsonObject ReadJson(string path, string what)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new DemoException($"{what} {path} is not a JSON object");
        }
        catch (IOException ex)
        {
            throw new DemoException($"cannot read the {what} {path}: {ex.Message}");
        }
        catch (JsonException ex)
        {
            throw new DemoException($"the {what} {path} is not valid JSON: {ex.Message}");
        }
    }

    private static string Required(JsonObject o, string key, string file) =>
        (string?)o[key] is { Length: > 0 } v ? v : throw new DemoException($"{file} has no {key}");

    /// <summary>One status line that rewrites itself on a terminal and prints plainly when redirected.</summary>
    private sealed class ProgressLine
    {
        private readonly bool live = !Console.IsErrorRedirected;
        private int lastLength;

        public void Show(string text)
        {
            if (!live) return;
            var line = "  " + text;
            Console.Error.Write("\r" + line.PadRight(lastLength));
            lastLength = line.Length;
        }

        public void Done(string text)
        {
            if (live) Console.Error.Write("\r" + new string(' ', lastLength) + "\r");
            lastLength = 0;
            Console.Error.WriteLine("  " + text);
        }

        public async Task<T> WhileAsync<T>(string label, Task<T> work)
        {
            if (!live) Console.Error.WriteLine("  " + label + " …");
            var clock = Stopwatch.StartNew();
            while (!work.IsCompleted)
            {
                Show($"{label} … {clock.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)}s");
                await Task.WhenAny(work, Task.Delay(200));
            }

            if (live) Console.Error.Write("\r" + new string(' ', lastLength) + "\r");
            lastLength = 0;
            return await work;
        }
    }
}

/// <summary>The demo's command line (parsed by <see cref="CliCommandLine"/>).</summary>
public sealed record DemoOptions(string EnvFile, string ManifestFile, string WorkDir, string ApiProject, IReadOnlySet<string>? Only, bool NoWait);

/// <summary>A seeded patient as listed in the seed manifest.</summary>
public sealed record DemoPatient(string Scenario, string PatientId, JsonObject? Expected)
{
    public static DemoPatient From(JsonObject o) => new(
        (string?)o["scenario"] ?? throw new DemoException("a manifest entry has no scenario"),
        (string?)o["patientId"] ?? throw new DemoException("a manifest entry has no patientId"),
        o["expected"] as JsonObject);

    /// <summary>The outcome the phantom generator designed the scenario for (expected.json <c>expectedOutcome</c>).</summary>
    public string? ExpectedOutcome => Expected?["expectedOutcome"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>The PRE the generator's reference pipeline computed from the same phantom (expected.json <c>referencePre</c>).</summary>
    public double? ExpectedPre => Expected?["referencePre"] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;

    /// <summary>For an on-study scenario (issue 17): the overdue and done items, signals and card kinds (expected.json <c>expectedFollowUp</c>).</summary>
    public JsonObject? ExpectedFollowUp => Expected?["expectedFollowUp"] as JsonObject;
}

/// <summary>What the demo saw for one scenario, and how that compares with what the scenario was designed to show.</summary>
internal sealed record SummaryRow(DemoPatient Patient, HookResult View, HookResult? Order, HookResult? Drug, RiskAssessmentList Written, IReadOnlyDictionary<string, string> WriteBacks)
{
    public string? Outcome => (string?)View.Assessment?["outcome"];

    /// <summary>Each way the scenario differs from its design (empty: pass).</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            var problems = new List<string>();
            if (!View.Ok) problems.Add($"patient-view answered HTTP {View.Status}");
            else if (Patient.ExpectedOutcome is { } expected && Outcome != expected) problems.Add($"patient-view outcome {Outcome ?? "none"}, expected {expected}");
            else if (Patient.ExpectedFollowUp is { } followUp) problems.AddRange(FollowUpCheck.Problems(followUp, View.Cards).Select(p => "follow-up: " + p));

            if (Order is { } order)
            {
                // A hepatectomy for a potential candidate is the moment to refer; for anyone else the order hook says what the chart says.
                var want = Patient.ExpectedOutcome == "eligible" ? "resection-ordered" : Patient.ExpectedOutcome;
                if (!order.Ok) problems.Add($"order-select answered HTTP {order.Status}");
                else if (want is not null && !order.CardKinds.Contains(want)) problems.Add($"order-select cards {string.Join(",", order.CardKinds)}, expected {want}");
            }

            if (Drug is { } drug)
            {
                if (!drug.Ok) problems.Add($"order-select (drug) answered HTTP {drug.Status}");
                else if (!drug.Cards.Any(c => (string?)c["indicator"] == "critical" && (string?)c["extension"]?["cdsrisk"]?["card"] == "regimen-hypersensitivity"))
                    problems.Add("order-select (drug): no critical hypersensitivity card");
            }

            foreach (var (id, state) in WriteBacks.Where(w => w.Value is "pending" or "rejected" or "unreadable"))
            {
                problems.Add($"write-back of {id[..8]} {state}");
            }

            if (Written.Problem is not null) problems.Add("RiskAssessment search failed");
            return problems;
        }
    }
}
