using System.Net;
using System.Net.Http.Headers;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace CdsRisk.IntegrationTests.TestServers;

[Collection("servers")]
public sealed class TestEnvironmentTests(TestEnvironment env)
{
    private static StringContent FhirJson(string json) => new(json, Encoding.UTF8, "application/fhir+json");

    [Fact]
    public async Task Orthanc_QidoFindsStudyAndSeries_AfterUpload()
    {
        var patientId = "qido-" + Guid.NewGuid().ToString("N")[..8];
        var studyUid = SyntheticDicom.NewUid();
        var seriesUid = SyntheticDicom.NewUid();
        for (var i = 1; i <= 3; i++)
        {
            var stored = await env.UploadDicomAsync(SyntheticDicom.MrSlice(patientId, studyUid, seriesUid, i, "AX T1 arterial"));
            Assert.Equal(studyUid, stored.StudyInstanceUid);
        }

        using var client = new HttpClient();
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/dicom+json"));
        var studies = JsonNode.Parse(await client.GetStringAsync(new Uri($"{env.DicomWebBaseUrl}/studies?PatientID={patientId}")))!.AsArray();
        var study = Assert.Single(studies);
        Assert.Equal(studyUid, (string?)study!["0020000D"]!["Value"]![0]);

        var series = JsonNode.Parse(await client.GetStringAsync(new Uri($"{env.DicomWebBaseUrl}/studies/{studyUid}/series?Modality=MR&includefield=0008103E")))!.AsArray();
        var one = Assert.Single(series);
        Assert.Equal(seriesUid, (string?)one!["0020000E"]!["Value"]![0]);
        Assert.Equal("AX T1 arterial", (string?)one["0008103E"]!["Value"]![0]);
        Assert.Equal(3, (int?)one["00201209"]!["Value"]![0]);
    }

    [Fact]
    public async Task Servers_RefuseClientsFromOtherAddresses()
    {
        var external = NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (external is null)
        {
            // No other interface to call from: check the setting that guards Orthanc instead.
            var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(env.TempDir, "orthanc", "orthanc.json")))!;
            Assert.False((bool)config["RemoteAccessAllowed"]!);
            return;
        }

        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // Orthanc listens on every interface but refuses non-loopback clients (1.10 answers 401).
        using (var orthanc = await client.GetAsync(new Uri($"http://{external}:{env.OrthancUrl.Port}/system")))
        {
            Assert.Contains(orthanc.StatusCode, new[] { HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden });
        }

        // The FHIR server binds 127.0.0.1 only.
        await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync(new Uri($"http://{external}:{env.FhirBaseUrl.Port}/fhir/metadata")));
    }

    [Fact]
    public async Task Fhir_Returns401_WithoutToken()
    {
        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri($"{env.FhirBaseUrl}/Patient"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("OperationOutcome", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["resourceType"]);
    }

    [Fact]
    public async Task Fhir_Returns401_WithWrongOrAdminToken()
    {
        foreach (var token in new[] { "not-the-token", env.FhirAdminToken })
        {
            using var client = env.CreateFhirClient(token);
            using var response = await client.GetAsync(new Uri("Patient", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("""{"resourceType":"Patient","birthDate":"27/11/1960"}""", "Patient.birthDate")]
    [InlineData("""{"resourceType":"Patient","favouriteColour":"blue"}""", "Patient.favouriteColour")]
    [InlineData("""{"resourceType":"Observation","code":{"text":"albumin"}}""", "Observation.status")]
    [InlineData("""{"resourceType":"Patient","gender":"bogus"}""", "Patient.gender")]
    [InlineData("""{"resourceType":"Observation","status":"done","code":{"text":"albumin"}}""", "Observation.status")]
    public async Task Fhir_Returns400WithOperationOutcome_ForInvalidResource(string json, string expression)
    {
        var type = (string)JsonNode.Parse(json)!["resourceType"]!;
        using var client = env.CreateFhirClient();
        using var response = await client.PostAsync(new Uri(type, UriKind.Relative), FhirJson(json));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var outcome = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("OperationOutcome", (string?)outcome["resourceType"]);
        Assert.Contains(outcome["issue"]!.AsArray(), i => i!["expression"]?.AsArray().Any(e => ((string?)e)!.StartsWith(expression, StringComparison.Ordinal)) == true);
    }

    [Fact]
    public async Task Fhir_Returns400_ForInvalidEntryInTransaction_AndStoresNothing()
    {
        var marker = Guid.NewGuid().ToString("N");
        var bundle = $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"{{{marker}}}"}]},"request":{"method":"POST","url":"Patient"}},
          {"resource":{"resourceType":"Observation","status":"not-a-status-of-any-kind","code":{"text":"x"},"valueQuantity":{"value":"four"}},"request":{"method":"POST","url":"Observation"}}
        ]}
        """;
        var error = await Assert.ThrowsAsync<TestServerException>(() => env.PostFhirBundleAsync(bundle));
        Assert.Equal(400, error.Status);
        Assert.Contains("Bundle.entry[1].resource", error.Body, StringComparison.Ordinal);
        var found = await env.GetFhirAsync($"Patient?identifier=urn:test|{marker}");
        Assert.Equal(0, (int?)found["total"]);
    }

    [Fact]
    public async Task Fhir_TransactionFailingAtRunTime_IsRolledBack()
    {
        var marker = Guid.NewGuid().ToString("N");
        var bundle = $$$"""
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"{{{marker}}}"}]},"request":{"method":"POST","url":"Patient"}},
          {"request":{"method":"DELETE","url":"Patient/does-not-exist-{{{marker}}}"}}
        ]}
        """;
        var error = await Assert.ThrowsAsync<TestServerException>(() => env.PostFhirBundleAsync(bundle));
        Assert.Equal(404, error.Status);
        var found = await env.GetFhirAsync($"Patient?identifier=urn:test|{marker}");
        Assert.Equal(0, (int?)found["total"]);
    }

    [Fact]
    public async Task Fhir_PutToNewId_Creates201_ThenUpdates200()
    {
        var id = "put-" + Guid.NewGuid().ToString("N")[..16];
        using var client = env.CreateFhirClient();
        var patient = $$"""{"resourceType":"Patient","id":"{{id}}","gender":"male"}""";
        using var created = await client.PutAsync(new Uri($"Patient/{id}", UriKind.Relative), FhirJson(patient));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.StartsWith($"{env.FhirBaseUrl}/Patient/{id}/_history/", created.Headers.Location!.ToString(), StringComparison.Ordinal);
        using var updated = await client.PutAsync(new Uri($"Patient/{id}", UriKind.Relative), FhirJson(patient.Replace("male", "female", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal("female", (string?)(await env.GetFhirAsync($"Patient/{id}"))["gender"]);
    }

    [Fact]
    public async Task Fhir_ConditionalCreate_ReturnsExistingResourceTheSecondTime()
    {
        var identifier = "urn:test:mrn|" + Guid.NewGuid().ToString("N");
        var patient = $$"""{"resourceType":"Patient","identifier":[{"system":"urn:test:mrn","value":"{{identifier.Split('|')[1]}}"}],"gender":"female","birthDate":"1961-04-02"}""";
        using var client = env.CreateFhirClient();

        using var first = new HttpRequestMessage(HttpMethod.Post, "Patient") { Content = FhirJson(patient) };
        first.Headers.TryAddWithoutValidation("If-None-Exist", "identifier=" + identifier);
        using var created = await client.SendAsync(first);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]!;
        Assert.StartsWith($"{env.FhirBaseUrl}/Patient/{id}/_history/", created.Headers.Location!.ToString(), StringComparison.Ordinal);

        using var second = new HttpRequestMessage(HttpMethod.Post, "Patient") { Content = FhirJson(patient) };
        second.Headers.TryAddWithoutValidation("If-None-Exist", "identifier=" + identifier);
        using var existing = await client.SendAsync(second);
        Assert.Equal(HttpStatusCode.OK, existing.StatusCode);
        Assert.Equal(id, (string?)JsonNode.Parse(await existing.Content.ReadAsStringAsync())!["id"]);

        var search = await env.GetFhirAsync("Patient?identifier=" + identifier);
        Assert.Equal(1, (int?)search["total"]);
    }

    [Fact]
    public async Task Fhir_Metadata_AnswersWithoutToken_AndListsWhatTheServiceUses()
    {
        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri($"{env.FhirBaseUrl}/metadata"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/fhir+json", response.Content.Headers.ContentType?.MediaType);
        var cs = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("CapabilityStatement", (string?)cs["resourceType"]);
        Assert.Equal("4.0.1", (string?)cs["fhirVersion"]);
        var resources = cs["rest"]![0]!["resource"]!.AsArray();
        var observation = resources.Single(r => (string?)r!["type"] == "Observation")!;
        Assert.True((bool)observation["conditionalCreate"]!);
        var searchParams = observation["searchParam"]!.AsArray().Select(p => (string?)p!["name"]).ToHashSet();
        Assert.Superset(new HashSet<string?> { "patient", "code", "date", "_count", "_sort" }, searchParams);
        Assert.Contains(resources, r => (string?)r!["type"] == "RiskAssessment");
        Assert.DoesNotContain(resources, r => (string?)r!["type"] == "Project");
    }

    [Fact]
    public async Task Fhir_Transaction_ResolvesUrnReferences_AndSearchSupportsServiceParams()
    {
        var bundle = """
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:0b7c1f0e-5f0e-4a52-9d53-3c0c2d9f0a01","resource":{"resourceType":"Patient","gender":"male","birthDate":"1958-02-03"},"request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:0b7c1f0e-5f0e-4a52-9d53-3c0c2d9f0a02","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1751-7"}]},"subject":{"reference":"urn:uuid:0b7c1f0e-5f0e-4a52-9d53-3c0c2d9f0a01"},"effectiveDateTime":"2026-01-10","valueQuantity":{"value":3.1,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}},"request":{"method":"POST","url":"Observation"}},
          {"fullUrl":"urn:uuid:0b7c1f0e-5f0e-4a52-9d53-3c0c2d9f0a03","resource":{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"1751-7"}]},"subject":{"reference":"urn:uuid:0b7c1f0e-5f0e-4a52-9d53-3c0c2d9f0a01"},"effectiveDateTime":"2026-03-10","valueQuantity":{"value":3.9,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"}},"request":{"method":"POST","url":"Observation"}},
          {"resource":{"resourceType":"Provenance","target":[{"reference":"urn:uuid:0b7c1f0e-5f0e-4a52-9d53-3c0c2d9f0a03"}],"recorded":"2026-03-10T12:00:00Z","agent":[{"who":{"display":"lab"}}]},"request":{"method":"POST","url":"Provenance"}}
        ]}
        """;
        var response = await env.PostFhirBundleAsync(bundle);
        Assert.Equal("transaction-response", (string?)response["type"]);
        var entries = response["entry"]!.AsArray();
        Assert.All(entries, e => Assert.StartsWith("201", (string?)e!["response"]!["status"], StringComparison.Ordinal));
        var patientId = (string)entries[0]!["resource"]!["id"]!;

        // Bare id for `patient`, system|code token, date prefix, sort, count, revinclude: the service's query shapes.
        var search = await env.GetFhirAsync($"Observation?patient={patientId}&code=http://loinc.org|1751-7&date=ge2026-01-01&_sort=-date&_count=1&_revinclude=Provenance:target");
        Assert.Equal(2, (int?)search["total"]);
        var found = search["entry"]!.AsArray();
        var match = Assert.Single(found, e => (string?)e!["search"]!["mode"] == "match")!;
        Assert.Equal("2026-03-10", (string?)match["resource"]!["effectiveDateTime"]);
        Assert.Equal($"Patient/{patientId}", (string?)match["resource"]!["subject"]!["reference"]);
        var included = Assert.Single(found, e => (string?)e!["search"]!["mode"] == "include")!;
        Assert.Equal("Provenance", (string?)included["resource"]!["resourceType"]);
        var next = (string)search["link"]!.AsArray().Single(l => (string?)l!["relation"] == "next")!["url"]!;
        var page2 = await env.GetFhirAsync(next[(env.FhirBaseUrl.ToString().TrimEnd('/').Length + 1)..]);
        var second = Assert.Single(page2["entry"]!.AsArray(), e => (string?)e!["search"]!["mode"] == "match")!;
        Assert.Equal("2026-01-10", (string?)second["resource"]!["effectiveDateTime"]);
        Assert.DoesNotContain(page2["link"]!.AsArray(), l => (string?)l!["relation"] == "next");
    }

    [Fact]
    public async Task Fhir_PostSearch_WithFormBody_FindsWhatGetFinds()
    {
        var marker = Guid.NewGuid().ToString("N");
        var created = await env.CreateFhirResourceAsync(JsonNode.Parse($$"""{"resourceType":"Patient","identifier":[{"system":"urn:test","value":"{{marker}}"}]}""")!.AsObject());
        using var client = env.CreateFhirClient();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string> { ["identifier"] = $"urn:test|{marker}" });
        using var response = await client.PostAsync(new Uri("Patient/_search", UriKind.Relative), form);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var bundle = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal((string?)created["id"], (string?)Assert.Single(bundle["entry"]!.AsArray())!["resource"]!["id"]);
    }

    [Fact]
    public async Task Fhir_InjectedFault_AppliesToCountedRequests_ThenRecovers()
    {
        await env.SetFhirFaultAsync("500", count: 1, pathPrefix: "/Condition");
        using var client = env.CreateFhirClient();
        using (var failed = await client.GetAsync(new Uri("Condition?patient=x", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        using var ok = await client.GetAsync(new Uri("Condition?patient=x", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task Fhir_SlowFault_DelaysTheAnswer()
    {
        await env.SetFhirFaultAsync("slow", delayMs: 1500, count: 1, pathPrefix: "/Procedure");
        using var client = env.CreateFhirClient();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var response = await client.GetAsync(new Uri("Procedure?patient=x", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.ElapsedMilliseconds >= 1400, $"answered after {clock.ElapsedMilliseconds} ms");
    }

    [Fact]
    public async Task Fhir_GarbageFault_Answers200WithUnparsableJson()
    {
        await env.SetFhirFaultAsync("garbage", count: 1, pathPrefix: "/AllergyIntolerance");
        using var client = env.CreateFhirClient();
        using var response = await client.GetAsync(new Uri("AllergyIntolerance?patient=x", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => JsonNode.Parse(body));
    }

    [Fact]
    public async Task Fhir_401Fault_RejectsAValidToken()
    {
        await env.SetFhirFaultAsync("401", count: 1, pathPrefix: "/MedicationStatement");
        using var client = env.CreateFhirClient();
        using var response = await client.GetAsync(new Uri("MedicationStatement?patient=x", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Fhir_CloseFault_DropsTheConnection()
    {
        await env.SetFhirFaultAsync("close", count: 1, pathPrefix: "/FamilyMemberHistory");
        // A fresh connection, so that the client cannot quietly retry on another pooled one.
        using var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero };
        using var client = new HttpClient(handler);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"{env.FhirBaseUrl}/FamilyMemberHistory/_search"))
        {
            Content = new StringContent("patient=x", Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", env.FhirToken);
        await Assert.ThrowsAsync<HttpRequestException>(() => client.SendAsync(request));
    }

    [Fact]
    public async Task Fhir_RequestLog_RecordsPathAndAuthorisation_ButNoToken()
    {
        var marker = Guid.NewGuid().ToString("N");
        await env.GetFhirAsync($"Encounter?identifier={marker}");
        var log = await env.GetFhirRequestLogAsync();
        var entry = log.Last(e => ((string?)e!["query"])!.Contains(marker, StringComparison.Ordinal))!;
        Assert.Equal("/Encounter", (string?)entry["path"]);
        Assert.True((bool)entry["authorized"]!);
        Assert.Equal(200, (int?)entry["status"]);
        Assert.DoesNotContain(env.FhirToken, log.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Postgres_AcceptsConnection_AndCanCreateATable()
    {
        await using var connection = new NpgsqlConnection(env.PostgresConnectionString);
        await connection.OpenAsync();
        var table = "t_" + Guid.NewGuid().ToString("N")[..12];
        await using (var create = new NpgsqlCommand($"CREATE TABLE {table} (id int primary key); INSERT INTO {table} VALUES (42);", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using var select = new NpgsqlCommand($"SELECT id FROM {table}", connection);
        Assert.Equal(42, (int)(await select.ExecuteScalarAsync())!);
        Assert.Equal("127.0.0.1", connection.Host);
    }

    [Fact]
    public async Task Postgres_CreateDatabase_GivesAnEmptyDatabaseOfItsOwn()
    {
        var connectionString = await env.CreatePostgresDatabaseAsync("scaleout");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        Assert.StartsWith("scaleout_", connection.Database, StringComparison.Ordinal);
        await using var count = new NpgsqlCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", connection);
        Assert.Equal(0L, (long)(await count.ExecuteScalarAsync())!);
    }
}
