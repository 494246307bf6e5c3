using CdsRisk.Core.Imaging;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace CdsRisk.Api.DicomWeb;

public static class DicomWebServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DicomWebClient"/> (typed HttpClient, one resilience pipeline: per-attempt timeout, GET-only retry of transient
    /// failures), <see cref="DicomWebOptions"/> from section <c>DicomWeb</c>, <see cref="PhaseRules"/> from <c>Imaging:PhaseRules</c>.
    /// </summary>
    public static IServiceCollection AddDicomWeb(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DicomWebOptions>()
            .Bind(configuration.GetSection(DicomWebOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<DicomWebOptions>, DicomWebOptionsValidator>();
        services.AddOptions<PhaseRules>().Bind(configuration.GetSection("Imaging:PhaseRules"));

        var settings = new DicomWebOptions();
        configuration.GetSection(DicomWebOptions.Section).Bind(settings);
        services.AddHttpClient<DicomWebClient>(client =>
            {
                // Streaming a series is bounded by DicomWeb:SeriesTimeoutSeconds in the client; attempts by the pipeline below.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddResilienceHandler("dicomweb", builder =>
            {
                var retry = new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = Math.Max(settings.MaxRetries, 1),
                    Delay = TimeSpan.FromMilliseconds(250),
                    BackoffType = Polly.DelayBackoffType.Exponential,
                    // HTTP 500 from a DICOMweb server is usually deterministic (e.g. no transcoder for JPEG 2000): do not retry it.
                    ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is HttpRequestException or Polly.Timeout.TimeoutRejectedException
                        || args.Outcome.Result?.StatusCode is System.Net.HttpStatusCode.RequestTimeout or System.Net.HttpStatusCode.TooManyRequests
                            or System.Net.HttpStatusCode.BadGateway or System.Net.HttpStatusCode.ServiceUnavailable or System.Net.HttpStatusCode.GatewayTimeout),
                };
                retry.DisableForUnsafeHttpMethods();
                if (settings.MaxRetries > 0)
                {
                    builder.AddRetry(retry);
                }

                builder.AddTimeout(TimeSpan.FromSeconds(settings.RequestTimeoutSeconds));
            });
        return services;
    }

    private sealed class DicomWebOptionsValidator : IValidateOptions<DicomWebOptions>
    {
        public ValidateOptionsResult Validate(string? name, DicomWebOptions options)
        {
            var problems = options.Problems().ToList();
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
