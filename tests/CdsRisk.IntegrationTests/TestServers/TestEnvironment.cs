using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.TestServers;

/// <summary>The collection that shares one set of real test servers (Orthanc, FHIR, PostgreSQL).</summary>
[CollectionDefinition("servers")]
public sealed class ServersCollection : ICollectionFixture<TestEnvironment>;

/// <summary>
/// Starts the real test servers once per test run through <c>scripts/testenv/testenv.py run</c> and stops them on
/// dispose. If the test host dies without disposing, the launcher notices its stdin closing and stops everything.
/// Set <c>CDSRISK_TESTENV_JSON</c> to the <c>env.json</c> of an environment started with <c>testenv.sh start</c>
/// to reuse it (it is then left running).
/// </summary>
public sealed class TestEnvironment : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private readonly StringBuilder launcherLog = new();
    private Process? launcher;
    private EnvironmentInfo? info;

    /// <summary>FHIR base, e.g. <c>http://127.0.0.1:PORT/fhir</c> (no trailing slash).</summary>
    public Uri FhirBaseUrl => new(Info.FhirBaseUrl);

    /// <summary>The bearer token the FHIR server accepts.</summary>
    public string FhirToken => Info.FhirToken;

    /// <summary>Base of the FHIR server's admin endpoints (<c>/__admin</c>): faults, request log, reset.</summary>
    public Uri FhirAdminUrl => new(Info.FhirAdminUrl);

    /// <summary>Bearer token for the admin endpoints (never accepted by the FHIR endpoints).</summary>
    public string FhirAdminToken => Info.FhirAdminToken;

    /// <summary>Orthanc's REST root, e.g. <c>http://127.0.0.1:PORT</c>.</summary>
    public Uri OrthancUrl => new(Info.OrthancUrl);

    /// <summary>DICOMweb base (QIDO/WADO-RS), e.g. <c>http://127.0.0.1:PORT/dicom-web</c>.</summary>
    public Uri DicomWebBaseUrl => new(Info.DicomWebBaseUrl);

    /// <summary>The same DICOMweb server behind a fault-injecting proxy (see <see cref="SetDicomWebFaultAsync"/>);
    /// URLs Orthanc returns through it point back at the proxy.</summary>
    public Uri DicomWebProxyBaseUrl => new(Info.DicomWebProxyBaseUrl);

    /// <summary>Npgsql connection string of a fresh database owned by a superuser.</summary>
    public string PostgresConnectionString => Info.PostgresConnectionString;

    /// <summary>
    /// The loopback port Orthanc's OnStableStudy script (scripts/orthanc/cdsrisk-score-on-stable-study.lua) posts scoring requests to
    /// (<c>http://127.0.0.1:PORT/api/scoring-jobs</c>): a test that runs the service there receives every study stored meanwhile.
    /// </summary>
    public int ScoringCallbackPort => Info.ScoringCallbackPort;

    /// <summary>The API key Orthanc's script sends (<c>Authorization: ApiKey …</c>).</summary>
    public string ScoringApiKey => Info.ScoringApiKey;

    /// <summary>The launcher's temp directory (server logs and storage); deleted on stop.</summary>
    public string TempDir => Info.TempDir;

    /// <summary>The launcher's <c>env.json</c> (what <c>scripts/testenv/seed.py --env</c> reads).</summary>
    public string EnvironmentFile => Info.EnvFile;

    /// <summary>Seconds the launcher took until all servers answered.</summary>
    public double StartSeconds => Info.StartSeconds;

    /// <summary>The repository root (the folder holding CdsRisk.sln).</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    private EnvironmentInfo Info => info ?? throw new InvalidOperationException("The test environment has not started.");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("CDSRISK_TESTENV_JSON");
        if (!string.IsNullOrEmpty(external))
        {
            info = EnvironmentInfo.Parse(await File.ReadAllTextAsync(external));
            return;
        }

        var python = Environment.GetEnvironmentVariable("CDSRISK_PYTHON") ?? "/usr/bin/python3";
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot,
        };
        foreach (var arg in new[] { Path.Combine(RepositoryRoot, "scripts", "testenv", "testenv.py"), "run", "--stdin-watch", "--owner-pid", Environment.ProcessId.ToString() })
        {
            start.ArgumentList.Add(arg);
        }

        launcher = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}");
        launcher.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (launcherLog) launcherLog.AppendLine(e.Data);
        };
        launcher.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;

        using var timeout = new CancellationTokenSource(StartTimeout);
        try
        {
            while (true)
            {
                var line = await launcher.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException($"The test environment launcher exited early:\n{LauncherLog}");
                if (!line.StartsWith('{')) continue;
                var node = JsonNode.Parse(line)!;
                var evt = (string?)node["event"];
                if (evt == "ready")
                {
                    info = EnvironmentInfo.Parse(line);
                    return;
                }

                if (evt == "failed")
                {
                    throw new InvalidOperationException($"The test environment failed to start: {(string?)node["error"]}\n{LauncherLog}");
                }
            }
        }
        catch (OperationCanceledException)
        {
            await StopLauncherAsync();
            throw new TimeoutException($"The test environment did not start within {StartTimeout}:\n{LauncherLog}");
        }
    }

    public async Task DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        await StopLauncherAsync();
    }

    private string LauncherLog
    {
        get
        {
            lock (launcherLog) return launcherLog.ToString();
        }
    }

    private void OnProcessExit(object? sender, EventArgs e) => StopLauncherAsync().GetAwaiter().GetResult();

    private async Task StopLauncherAsync()
    {
        var p = launcher;
        if (p is null) return;
        launcher = null;
        try
        {
            if (!p.HasExited)
            {
                // Closing stdin is the launcher's signal to stop its servers and delete its temp dir.
                p.StandardInput.Close();
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await p.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    p.Kill(entireProcessTree: true);
                }
            }
        }
        finally
        {
            p.Dispose();
        }
    }

    // ---- FHIR helpers ------------------------------------------------------------------------------------------

    /// <summary>An HttpClient whose base address is the FHIR base (with a trailing slash) and that sends the token.</summary>
    public HttpClient CreateFhirClient(string? token = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(Info.FhirBaseUrl + "/"), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? FhirToken);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        return client;
    }

    /// <summary>Posts a transaction or batch Bundle to the FHIR base; returns the response Bundle.</summary>
    /// <exception cref="TestServerException">The server answered with an error status.</exception>
    public async Task<JsonObject> PostFhirBundleAsync(string bundleJson, CancellationToken cancellationToken = default)
    {
        using var client = CreateFhirClient();
        using var content = FhirJson(bundleJson);
        using var response = await client.PostAsync(new Uri(Info.FhirBaseUrl), content, cancellationToken);
        return await ReadObjectAsync(response, "POST bundle", cancellationToken);
    }

    /// <summary>Creates a resource (conditionally when <paramref name="ifNoneExist"/> is given); returns it as stored.</summary>
    public async Task<JsonObject> CreateFhirResourceAsync(JsonObject resource, string? ifNoneExist = null, CancellationToken cancellationToken = default)
    {
        var type = (string?)resource["resourceType"] ?? throw new ArgumentException("resourceType is missing", nameof(resource));
        using var client = CreateFhirClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, type) { Content = FhirJson(resource.ToJsonString()) };
        if (ifNoneExist is not null) request.Headers.TryAddWithoutValidation("If-None-Exist", ifNoneExist);
        using var response = await client.SendAsync(request, cancellationToken);
        return await ReadObjectAsync(response, $"POST {type}", cancellationToken);
    }

    /// <summary>GETs a FHIR URL relative to the base (e.g. <c>RiskAssessment?subject=Patient/1</c>).</summary>
    public async Task<JsonObject> GetFhirAsync(string relativeUrl, CancellationToken cancellationToken = default)
    {
        using var client = CreateFhirClient();
        using var response = await client.GetAsync(new Uri(relativeUrl, UriKind.Relative), cancellationToken);
        return await ReadObjectAsync(response, $"GET {relativeUrl.Split('?')[0]}", cancellationToken);
    }

    /// <summary>Makes the FHIR server misbehave: mode <c>none|500|slow|garbage|401|close</c>, or behave as some real servers do:
    /// <c>sort-ignored|sort-refused|count-ignored|no-total|relative-next|include-other-types</c>, joined with <c>+</c> to combine;
    /// <paramref name="count"/> limits it to that many requests; <paramref name="pathPrefix"/> (e.g. <c>/Observation</c>) to matching paths.</summary>
    public async Task SetFhirFaultAsync(string mode, int delayMs = 0, int? count = null, string? pathPrefix = null, CancellationToken cancellationToken = default)
    {
        var spec = new JsonObject { ["mode"] = mode, ["delayMs"] = delayMs };
        if (count is not null) spec["count"] = count;
        if (pathPrefix is not null) spec["pathPrefix"] = pathPrefix;
        using var response = await SendAdminAsync(HttpMethod.Post, "fault", spec.ToJsonString(), cancellationToken);
        await ReadObjectAsync(response, "POST /__admin/fault", cancellationToken);
    }

    /// <summary>The FHIR server's log of requests since start or the last clear: method, path, query, status, authorized.</summary>
    public async Task<JsonArray> GetFhirRequestLogAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAdminAsync(HttpMethod.Get, "requests", null, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw new TestServerException("GET /__admin/requests", (int)response.StatusCode, text);
        return JsonNode.Parse(text)!.AsArray();
    }

    /// <summary>Empties the FHIR server's request log.</summary>
    public async Task ClearFhirRequestLogAsync(CancellationToken cancellationToken = default)
    {
        using var response = await SendAdminAsync(HttpMethod.Delete, "requests", null, cancellationToken);
        if (!response.IsSuccessStatusCode) throw new TestServerException("DELETE /__admin/requests", (int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>Makes the DICOMweb proxy misbehave: mode <c>none|500|slow|truncate|close|garbage</c>; <c>truncate</c>
    /// forwards Orthanc's headers and the first <paramref name="truncateAfterBytes"/> body bytes, then drops the
    /// connection. <paramref name="count"/> and <paramref name="pathPrefix"/> (e.g. <c>/dicom-web/studies</c>) narrow it.</summary>
    public async Task SetDicomWebFaultAsync(string mode, int delayMs = 0, int? count = null, string? pathPrefix = null, int truncateAfterBytes = 4096, CancellationToken cancellationToken = default)
    {
        var spec = new JsonObject { ["mode"] = mode, ["delayMs"] = delayMs, ["truncateAfterBytes"] = truncateAfterBytes };
        if (count is not null) spec["count"] = count;
        if (pathPrefix is not null) spec["pathPrefix"] = pathPrefix;
        using var response = await SendAdminAsync(HttpMethod.Post, "fault", spec.ToJsonString(), cancellationToken, Info.DicomWebProxyAdminUrl, Info.DicomWebProxyAdminToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw new TestServerException("POST proxy /__admin/fault", (int)response.StatusCode, text);
    }

    private async Task<HttpResponseMessage> SendAdminAsync(HttpMethod method, string path, string? json, CancellationToken cancellationToken, string? adminUrl = null, string? adminToken = null)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(method, new Uri($"{adminUrl ?? Info.FhirAdminUrl}/{path}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminToken ?? FhirAdminToken);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        return await client.SendAsync(request, cancellationToken);
    }

    private static StringContent FhirJson(string json) => new(json, Encoding.UTF8, "application/fhir+json");

    private static async Task<JsonObject> ReadObjectAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw new TestServerException(what, (int)response.StatusCode, text);
        return JsonNode.Parse(text) as JsonObject ?? throw new TestServerException(what, (int)response.StatusCode, "response is not a JSON object");
    }

    // ---- Orthanc helpers ---------------------------------------------------------------------------------------

    /// <summary>Stores one DICOM Part 10 file in Orthanc (REST <c>POST /instances</c>).</summary>
    public async Task<OrthancInstance> UploadDicomAsync(byte[] part10, CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        using var content = new ByteArrayContent(part10);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/dicom");
        using var response = await client.PostAsync(new Uri(OrthancUrl, "/instances"), content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode) throw new TestServerException("POST /instances", (int)response.StatusCode, text);
        var node = JsonNode.Parse(text)!;
        var studyId = (string)node["ParentStudy"]!;
        var study = JsonNode.Parse(await client.GetStringAsync(new Uri(OrthancUrl, $"/studies/{studyId}"), cancellationToken))!;
        return new OrthancInstance((string)node["ID"]!, studyId, (string)study["MainDicomTags"]!["StudyInstanceUID"]!, (string)node["Status"]!);
    }

    /// <summary>The SeriesInstanceUIDs of a stored study.</summary>
    public async Task<IReadOnlyList<string>> GetSeriesInstanceUidsAsync(string studyInstanceUid, CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var series = JsonNode.Parse(await client.GetStringAsync(new Uri(OrthancUrl, $"/studies/{await FindStudyAsync(client, studyInstanceUid, cancellationToken)}/series"), cancellationToken))!.AsArray();
        return [.. series.Select(s => s!["MainDicomTags"]!["SeriesInstanceUID"]!.GetValue<string>())];
    }

    /// <summary>
    /// Uploads a copy of a stored study as a new arrival (REST <c>POST /instances</c>, one file at a time, as a modality or router
    /// sends it): every instance with another PatientID, StudyInstanceUID and SeriesInstanceUIDs (<paramref name="newSeriesUids"/>,
    /// old → new) and new SOP Instance UIDs; returns the number stored.
    /// </summary>
    public async Task<int> UploadStudyCopyAsync(string studyInstanceUid, string patientId, string newStudyInstanceUid,
        IReadOnlyDictionary<string, string> newSeriesUids, CancellationToken cancellationToken = default)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(120) };
        var studyId = await FindStudyAsync(client, studyInstanceUid, cancellationToken);
        var instances = JsonNode.Parse(await client.GetStringAsync(new Uri(OrthancUrl, $"/studies/{studyId}/instances"), cancellationToken))!.AsArray();
        foreach (var instance in instances)
        {
            var id = instance!["ID"]!.GetValue<string>();
            var series = JsonNode.Parse(await client.GetStringAsync(new Uri(OrthancUrl, $"/instances/{id}/simplified-tags"), cancellationToken))!["SeriesInstanceUID"]!.GetValue<string>();
            var modify = new JsonObject
            {
                ["Replace"] = new JsonObject
                {
                    ["PatientID"] = patientId, ["PatientName"] = "ARRIVAL^TEST", ["StudyInstanceUID"] = newStudyInstanceUid, ["SeriesInstanceUID"] = newSeriesUids[series],
                },
                ["Force"] = true,
            }.ToJsonString();
            using var modified = await client.PostAsync(new Uri(OrthancUrl, $"/instances/{id}/modify"), new StringContent(modify), cancellationToken);
            if (!modified.IsSuccessStatusCode) throw new TestServerException("POST /instances/{id}/modify", (int)modified.StatusCode, await modified.Content.ReadAsStringAsync(cancellationToken));
            await UploadDicomAsync(await modified.Content.ReadAsByteArrayAsync(cancellationToken), cancellationToken);
        }

        return instances.Count;
    }

    private async Task<string> FindStudyAsync(HttpClient client, string studyInstanceUid, CancellationToken cancellationToken)
    {
        using var lookup = await client.PostAsync(new Uri(OrthancUrl, "/tools/lookup"), new StringContent(studyInstanceUid), cancellationToken);
        return JsonNode.Parse(await lookup.Content.ReadAsStringAsync(cancellationToken))!.AsArray().First(n => (string?)n!["Type"] == "Study")!["ID"]!.GetValue<string>();
    }

    /// <summary>Stores every file of <paramref name="paths"/> in Orthanc.</summary>
    public async Task<IReadOnlyList<OrthancInstance>> UploadDicomFilesAsync(IEnumerable<string> paths, CancellationToken cancellationToken = default)
    {
        var results = new List<OrthancInstance>();
        foreach (var path in paths)
        {
            results.Add(await UploadDicomAsync(await File.ReadAllBytesAsync(path, cancellationToken), cancellationToken));
        }

        return results;
    }

    // ---- PostgreSQL helpers -------------------------------------------------------------------------------------

    /// <summary>Creates a fresh, empty database (for a test that needs its own schema) and returns its connection string.</summary>
    public async Task<string> CreatePostgresDatabaseAsync(string? prefix = null, CancellationToken cancellationToken = default)
    {
        var name = $"{prefix ?? "test"}_{Guid.NewGuid():N}"[..Math.Min(63, (prefix ?? "test").Length + 33)].ToLowerInvariant();
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')) throw new ArgumentException("prefix must be letters, digits or _", nameof(prefix));
        await using (var connection = new Npgsql.NpgsqlConnection(PostgresConnectionString))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }

        return new Npgsql.NpgsqlConnectionStringBuilder(PostgresConnectionString) { Database = name }.ConnectionString;
    }

    // ---- Seeding -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Runs <c>scripts/testenv/seed.py</c> against these servers: phantoms from the generator (default
    /// <c>models/phantoms/generate.py</c>) into <paramref name="outDir"/>, DICOM into Orthanc, Bundles into the FHIR
    /// server. The manifest lists, per scenario: scenario, seed, layout, patientId (server id), studyInstanceUids,
    /// imagingStudyIds, dicomFiles, expectedPath, expected (the generator's expected.json).
    /// </summary>
    public async Task<SeedResult> SeedAsync(string outDir, IEnumerable<string>? scenarios = null, string? generator = null, string? today = null, IReadOnlyDictionary<string, string>? environment = null, CancellationToken cancellationToken = default)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("CDSRISK_PYTHON") ?? "/usr/bin/python3")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepositoryRoot,
        };
        var args = new List<string> { Path.Combine(RepositoryRoot, "scripts", "testenv", "seed.py"), "--env", EnvironmentFile, "--out", outDir };
        if (scenarios is not null) args.AddRange(["--scenarios", string.Join(',', scenarios)]);
        if (generator is not null) args.AddRange(["--generator", generator]);
        if (today is not null) args.AddRange(["--today", today]);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;

        using var p = Process.Start(start) ?? throw new InvalidOperationException("could not start seed.py");
        var stdout = p.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = p.StandardError.ReadToEndAsync(cancellationToken);
        await p.WaitForExitAsync(cancellationToken);
        var manifestPath = (await stdout).Trim();
        JsonObject? manifest = File.Exists(manifestPath) ? JsonNode.Parse(await File.ReadAllTextAsync(manifestPath, cancellationToken)) as JsonObject : null;
        return new SeedResult(p.ExitCode, manifest, await stderr);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "CdsRisk.sln"))) return dir.FullName;
        }

        throw new InvalidOperationException($"CdsRisk.sln not found above {AppContext.BaseDirectory}");
    }

    private sealed record EnvironmentInfo(
        string FhirBaseUrl, string FhirToken, string FhirAdminUrl, string FhirAdminToken,
        string OrthancUrl, string DicomWebBaseUrl, string DicomWebProxyBaseUrl, string DicomWebProxyAdminUrl, string DicomWebProxyAdminToken,
        string PostgresConnectionString, string TempDir, string EnvFile, double StartSeconds, int ScoringCallbackPort, string ScoringApiKey)
    {
        public static EnvironmentInfo Parse(string json)
        {
            using var doc = JsonDocument.Parse(json);
            var r = doc.RootElement;
            string S(string name) => r.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
            return new EnvironmentInfo(S("fhirBaseUrl"), S("fhirToken"), S("fhirAdminUrl"), S("fhirAdminToken"),
                S("orthancUrl"), S("dicomWebBaseUrl"), S("dicomWebProxyBaseUrl"), S("dicomWebProxyAdminUrl"), S("dicomWebProxyAdminToken"),
                S("postgresConnectionString"), S("tempDir"), S("envFile"),
                r.TryGetProperty("startSeconds", out var s) ? s.GetDouble() : 0,
                r.TryGetProperty("scoringCallbackPort", out var port) ? port.GetInt32() : 0, S("scoringApiKey"));
        }
    }
}

/// <summary>What <see cref="TestEnvironment.SeedAsync"/> did: the seeder's exit code (0 all seeded, 1 some failed,
/// 2 bad arguments), its manifest (null if none was written) and its progress log.</summary>
public sealed record SeedResult(int ExitCode, JsonObject? Manifest, string Log);

/// <summary>What Orthanc answered to an upload.</summary>
/// <param name="Status"><c>Success</c>, or <c>AlreadyStored</c> for a repeat.</param>
public sealed record OrthancInstance(string OrthancId, string OrthancStudyId, string StudyInstanceUid, string Status);

/// <summary>A test server answered a helper's request with an error status.</summary>
public sealed class TestServerException(string request, int status, string body)
    : Exception($"{request} answered {status}: {(body.Length > 2000 ? body[..2000] : body)}")
{
    public int Status { get; } = status;

    public string Body { get; } = body;
}
