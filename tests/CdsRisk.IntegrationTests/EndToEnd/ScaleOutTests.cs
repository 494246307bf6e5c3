using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.TestServers;
using Npgsql;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// Two service processes sharing one PostgreSQL database, hit at the same time for the same patient: the study is scored once,
/// the RiskAssessment is written once, and only one process writes it (the outbox drain lease).
/// </summary>
[Collection("servers")]
public sealed class ScaleOutTests(TestEnvironment env)
{
    [Fact]
    public async Task TwoProcessesOnOneDatabase_ScoreTheStudyOnce_AndWriteTheRiskAssessmentOnce()
    {
        var patientId = await SeededDemo.CopyPatientAsync(env, "eligible-high-risk", "scale-" + Guid.NewGuid().ToString("N")[..8], env.DicomWebBaseUrl);
        var database = await env.CreatePostgresDatabaseAsync("scaleout");
        await using var first = await ServiceProcess.StartAsync(env, database);
        await using var second = await ServiceProcess.StartAsync(env, database);
        await env.ClearFhirRequestLogAsync();

        // Six concurrent hooks, three to each process, all for the same study.
        var calls = Enumerable.Range(0, 6).Select(async i =>
        {
            var target = i % 2 == 0 ? first : second;
            using var response = await target.Client.PostAsJsonAsync(new Uri(HookCalls.PatientView, UriKind.Relative), HookCalls.PatientViewRequest(env, patientId));
            return (response.StatusCode, Body: JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
        }).ToList();
        var results = await Task.WhenAll(calls);

        Assert.All(results, r => Assert.True(r.StatusCode == HttpStatusCode.OK, $"{r.StatusCode}: {r.Body.ToJsonString()}"));
        var scores = results.Select(r => HookCalls.Extension(r.Body)["preScore"]?.GetValue<double>()).ToList();
        Assert.All(scores, s => Assert.NotNull(s));
        Assert.Single(scores.Distinct());

        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var jobs = new NpgsqlCommand("SELECT COUNT(*), SUM(attempts) FROM scoring_jobs;", connection);
            await using var reader = await jobs.ExecuteReaderAsync();
            await reader.ReadAsync();
            Assert.Equal(1L, reader.GetInt64(0));
            Assert.Equal(1L, reader.GetInt64(1));
        }

        await HookCalls.WaitForSearchAsync(env, $"RiskAssessment?subject=Patient/{patientId}", b => HookCalls.Total(b) >= 1, TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(3)); // time for a second, wrong write to show up
        Assert.Equal(1, HookCalls.Total(await env.GetFhirAsync($"RiskAssessment?subject=Patient/{patientId}")));
        var transactionPosts = (await env.GetFhirRequestLogAsync())
            .Count(r => r!["method"]!.GetValue<string>() == "POST" && r["path"]!.GetValue<string>() == "/");
        Assert.Equal(1, transactionPosts);

        // Each hook has its audit record, its detail stored as JSON text (sent as UTF-8 bytes, converted by PostgreSQL).
        var (records, readable) = (0L, 0L);
        for (var attempt = 0; attempt < 50 && records < results.Length; attempt++)
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            await using var audit = new NpgsqlCommand(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE detail_json::jsonb ->> 'serviceId' = 'nct07282184-patient-view') FROM risk_assessments;", connection);
            await using var reader = await audit.ExecuteReaderAsync();
            await reader.ReadAsync();
            (records, readable) = (reader.GetInt64(0), reader.GetInt64(1));
            if (records < results.Length)
            {
                await Task.Delay(200);
            }
        }

        Assert.Equal(results.Length, records);
        Assert.Equal(results.Length, readable);

        // The same prefetch three times (the evaluation cached after the first): three rows, each with its own detail as answered.
        var prefetch = await HookCalls.PrefetchAsync(env, first.Client, HookCalls.PatientView, patientId);
        var instances = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var instance = Guid.NewGuid();
            instances.Add(instance.ToString("D"));
            using var response = await first.Client.PostAsJsonAsync(new Uri(HookCalls.PatientView, UriKind.Relative),
                HookCalls.PatientViewRequest(env, patientId, instance, prefetch.DeepClone().AsObject()));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var cardUuids = new List<string>();
        for (var attempt = 0; attempt < 50 && cardUuids.Count < 3; attempt++)
        {
            cardUuids.Clear();
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            await using var own = new NpgsqlCommand(
                "SELECT detail_json::jsonb -> 'cards' -> 0 ->> 'uuid' FROM risk_assessments WHERE id = ANY(@ids);", connection);
            own.Parameters.AddWithValue("ids", instances.ToArray());
            await using var reader = await own.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                cardUuids.Add(reader.GetString(0));
            }

            if (cardUuids.Count < 3)
            {
                await Task.Delay(200);
            }
        }

        Assert.Equal(3, cardUuids.Distinct().Count());
    }

    /// <summary>
    /// Issue 17: two service processes on one PostgreSQL database, each with the follow-up sweep every minute, and on-study patients on
    /// the real FHIR server. The lease lets one process sweep per period (every recorded run starts a full period after the one before
    /// it ended), both show the same last run, both list the same worklist, and each patient has one audit row from the sweep.
    /// </summary>
    [Fact]
    public async Task TwoProcessesOnOneDatabase_SweepOncePerPeriod_AndListTheSameWorklist()
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        var studyRef = await FollowUpSweepTests.TrialStudyAsync(env, tag);
        var (overdue, _) = await FollowUpSweepTests.OnStudyPatientAsync(env, studyRef, tag, resectedDaysAgo: 200);
        var (recent, _) = await FollowUpSweepTests.OnStudyPatientAsync(env, studyRef, tag, resectedDaysAgo: 30);
        var database = await env.CreatePostgresDatabaseAsync("sweep");
        var settings = FollowUpSweepTests.SweepSettings(env, studyRef);
        settings["FollowUp:SweepMinutes"] = "1";
        await using var first = await ServiceProcess.StartAsync(env, database, settings);
        await using var second = await ServiceProcess.StartAsync(env, database, settings);

        // Both processes look for a due sweep as soon as they start; wait until a finished run is visible from both.
        JsonNode? fromFirst = null, fromSecond = null;
        for (var attempt = 0; attempt < 300; attempt++)
        {
            fromFirst = JsonNode.Parse(await first.Client.GetStringAsync(new Uri("/api/follow-up/sweep", UriKind.Relative)))!["lastRun"];
            fromSecond = JsonNode.Parse(await second.Client.GetStringAsync(new Uri("/api/follow-up/sweep", UriKind.Relative)))!["lastRun"];
            if (fromFirst?["finishedAt"] is not null && fromSecond?["finishedAt"] is not null)
            {
                break;
            }

            await Task.Delay(200);
        }

        Assert.NotNull(fromFirst?["finishedAt"]);
        Assert.Equal("completed", fromFirst!["state"]!.GetValue<string>());
        Assert.Equal(fromFirst["id"]!.GetValue<string>(), fromSecond!["id"]!.GetValue<string>());
        Assert.Equal(2, fromFirst["onStudy"]!.GetValue<int>());
        Assert.Equal(2, fromFirst["subjects"]!.GetValue<int>());

        // The same worklist from both, with both patients.
        var listFirst = await first.Client.GetStringAsync(new Uri("/api/follow-up", UriKind.Relative));
        var listSecond = await second.Client.GetStringAsync(new Uri("/api/follow-up", UriKind.Relative));
        Assert.Equal(listFirst, listSecond);
        var items = JsonNode.Parse(listFirst)!["items"]!.AsArray();
        Assert.Equal("overdue", items.Single(i => i!["patient"]!.GetValue<string>() == "Patient/" + overdue)!["status"]!.GetValue<string>());
        Assert.Contains(items, i => i!["patient"]!.GetValue<string>() == "Patient/" + recent);

        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();

        // One run per period: every run finished, and each one started at least a period (60 s) after the one before it ended.
        var runs = new List<(string Owner, long Started, long? Finished)>();
        await using (var command = new NpgsqlCommand("SELECT owner, started_ms, finished_ms FROM follow_up_sweeps ORDER BY started_ms;", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                runs.Add((reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetInt64(2)));
            }
        }

        Assert.NotEmpty(runs);
        for (var i = 1; i < runs.Count; i++)
        {
            Assert.NotNull(runs[i - 1].Finished);
            Assert.True(runs[i].Started - runs[i - 1].Finished >= 60_000, $"run {i} started {runs[i].Started - runs[i - 1].Finished!.Value} ms after run {i - 1} ended");
        }

        // The sweep's audit rows: one per patient, however many processes and periods (nothing changed between runs).
        await using (var command = new NpgsqlCommand(
            "SELECT patient_ref, COUNT(*) FROM risk_assessments WHERE hook = 'follow-up-sweep' GROUP BY patient_ref ORDER BY patient_ref;", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            var counts = new Dictionary<string, long>();
            while (await reader.ReadAsync())
            {
                counts[reader.GetString(0)] = reader.GetInt64(1);
            }

            Assert.Equal(1L, counts["Patient/" + overdue]);
            Assert.Equal(1L, counts["Patient/" + recent]);
        }
    }

    /// <summary>The service as its own OS process (the built CdsRisk.Api.dll), on a free loopback port.</summary>
    private sealed class ServiceProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private ServiceProcess(Process process, HttpClient client)
        {
            _process = process;
            Client = client;
        }

        public HttpClient Client { get; }

        public static async Task<ServiceProcess> StartAsync(TestEnvironment env, string database, IReadOnlyDictionary<string, string?>? settings = null)
        {
            var configuration = typeof(ScaleOutTests).Assembly.Location.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            var api = Path.Combine(TestEnvironment.RepositoryRoot, "src", "CdsRisk.Api", "bin", configuration, "net10.0", "CdsRisk.Api.dll");
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(api)! };
            start.ArgumentList.Add(api);
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add($"http://127.0.0.1:{port}");
            start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
            start.Environment["Auth__Mode"] = "Disabled";
            start.Environment["Storage__Provider"] = "PostgreSql";
            start.Environment["Storage__PostgreSql__ConnectionString"] = database;
            start.Environment["Fhir__AllowedServers__0"] = env.FhirBaseUrl.AbsoluteUri;
            start.Environment["DicomWeb__AllowedServers__0"] = env.DicomWebBaseUrl.AbsoluteUri;
            start.Environment["Pipeline__LatencyBudgetMilliseconds"] = "30000";
            start.Environment["WriteBack__PollSeconds"] = "1";
            // A process just started on a loaded machine (JIT, first connections) can need more than the default 8 s for its first
            // FHIR read, which answers 412 "timed out"; this test is about one score and one write across processes, not latency.
            start.Environment["Fhir__TimeoutSeconds"] = "30";
            start.Environment["Fhir__LoadTimeoutSeconds"] = "60";
            foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
            {
                start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
            }

            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                try
                {
                    using var health = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
                    if (health.IsSuccessStatusCode) break;
                }
                catch (HttpRequestException)
                {
                }

                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"service process did not start (exit {(process.HasExited ? process.ExitCode : -1)})");
                }

                await Task.Delay(200);
            }

            return new ServiceProcess(process, client);
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }
    }
}
