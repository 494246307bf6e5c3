using Microsoft.Extensions.Logging.Testing;
using CdsRisk.Api.Pipeline;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>
/// The service in memory with its own SQLite file. Auth is disabled unless a test configures it, and the evaluator is a
/// <see cref="RecordingRiskEvaluator"/> so protocol tests do not depend on the eligibility engine.
/// </summary>
public class CdsRiskApiFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly bool _useRecordingEvaluator;

    public CdsRiskApiFactory() : this(new Dictionary<string, string?>())
    {
    }

    /// <param name="settings">Configuration; a <c>Storage:Sqlite:Path</c> given here is used (and kept on dispose) instead of a fresh file.</param>
    /// <param name="useRecordingEvaluator">Replace the evaluator by a <see cref="RecordingRiskEvaluator"/>.</param>
    /// <param name="environment">The host environment (Swagger is served in Development only).</param>
    public CdsRiskApiFactory(IDictionary<string, string?> settings, bool useRecordingEvaluator = true, string environment = "Testing")
    {
        _useRecordingEvaluator = useRecordingEvaluator;
        _environment = environment;
        _settings = new Dictionary<string, string?>(settings);
        if (_settings.TryGetValue("Storage:Sqlite:Path", out var given) && given is not null)
        {
            DatabasePath = given;
            _ownsDatabase = false;
        }
        else
        {
            DatabasePath = Path.Combine(Path.GetTempPath(), "cdsrisk-tests", Guid.NewGuid().ToString("N"), "cdsrisk.db");
            _settings["Storage:Sqlite:Path"] = DatabasePath;
        }

        _settings.TryAdd("Auth:Mode", "Disabled");
        // The follow-up sweep runs only where a test starts it.
        _settings.TryAdd("FollowUp:SweepMinutes", "0");
        // TestServer's address: every token's aud is this base plus the path called.
        _settings.TryAdd("Auth:PublicBaseUrl", PublicBaseUrl);
    }

    /// <summary>The <c>Auth:PublicBaseUrl</c> set unless a test sets another (TestServer's own address).</summary>
    public const string PublicBaseUrl = "http://localhost";

    private readonly string _environment;
    private readonly bool _ownsDatabase = true;

    public string DatabasePath { get; }

    public RecordingRiskEvaluator Evaluator { get; } = new();

    private readonly FakeLogCollector _logs = new();

    /// <summary>Every log line the service wrote (at the levels the settings let through), for checks that no token or PHI is logged.</summary>
    public IReadOnlyList<string> Logs => [.. _logs.GetSnapshot().Select(r => $"{r.Category}: {r.Message} {r.Exception}")];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(_environment);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            logging.AddProvider(new FakeLoggerProvider(_logs));
        });
        if (_useRecordingEvaluator)
        {
            builder.ConfigureTestServices(services => services.Replace(ServiceDescriptor.Singleton<IRiskEvaluator>(Evaluator)));
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (!_ownsDatabase)
        {
            return;
        }

        try
        {
            Directory.Delete(Path.GetDirectoryName(DatabasePath)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
