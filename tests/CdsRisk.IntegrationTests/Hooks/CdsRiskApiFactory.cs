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

    public CdsRiskApiFactory(IDictionary<string, string?> settings, bool useRecordingEvaluator = true)
    {
        _useRecordingEvaluator = useRecordingEvaluator;
        DatabasePath = Path.Combine(Path.GetTempPath(), "cdsrisk-tests", Guid.NewGuid().ToString("N"), "cdsrisk.db");
        _settings = new Dictionary<string, string?>(settings)
        {
            ["Storage:Sqlite:Path"] = DatabasePath,
        };
        _settings.TryAdd("Auth:Mode", "Disabled");
    }

    public string DatabasePath { get; }

    public RecordingRiskEvaluator Evaluator { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        if (_useRecordingEvaluator)
        {
            builder.ConfigureTestServices(services => services.Replace(ServiceDescriptor.Singleton<IRiskEvaluator>(Evaluator)));
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        try
        {
            Directory.Delete(Path.GetDirectoryName(DatabasePath)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
