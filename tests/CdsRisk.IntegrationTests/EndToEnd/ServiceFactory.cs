using CdsRisk.IntegrationTests.TestServers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Logging;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>
/// The whole service in memory, wired to the real test servers: FHIR (Medplum), DICOMweb (Orthanc) and, when asked, PostgreSQL.
/// The real pipeline runs: eligibility engine, DICOMweb retrieval, the bundled ONNX model, outbox write-back.
/// </summary>
public sealed class ServiceFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    public ServiceFactory(TestEnvironment env, IDictionary<string, string?>? overrides = null)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("cdsrisk-e2e-").FullName;
        _settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Auth:Mode"] = "Disabled",
            ["Storage:Sqlite:Path"] = Path.Combine(Directory, "cdsrisk.db"),
            ["Fhir:AllowedServers:0"] = env.FhirBaseUrl.AbsoluteUri,
            ["DicomWeb:AllowedServers:0"] = env.DicomWebBaseUrl.AbsoluteUri,
            ["DicomWeb:AllowedServers:1"] = env.DicomWebProxyBaseUrl.AbsoluteUri,
            // End-to-end checks want the score inside the hook; the budget itself has its own tests.
            ["Pipeline:LatencyBudgetMilliseconds"] = "30000",
            ["WriteBack:PollSeconds"] = "1",
            ["WriteBack:FirstRetrySeconds"] = "1",
            ["WriteBack:MaxRetrySeconds"] = "2",
            ["Scoring:PollSeconds"] = "1",
            // The follow-up sweep runs only where a test starts it.
            ["FollowUp:SweepMinutes"] = "0",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }
    }

    public string Directory { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
