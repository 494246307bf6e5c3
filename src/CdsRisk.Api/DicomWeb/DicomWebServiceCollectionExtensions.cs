using CdsRisk.Core.Imaging;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace CdsRisk.Api.DicomWeb;

public static class DicomWebServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="DicomWebClient"/> (typed HttpClient without automatic redirects, one resilience pipeline per server:
    /// GET-only retry of transient failures, circuit breaker, per-attempt timeout), <see cref="DicomWebOptions"/> from section
    /// <c>DicomWeb</c>, <see cref="PhaseRules"/> from <c>Imaging:PhaseRules</c>.
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
                // Streaming a series is bounded by DicomWeb:SeriesTimeoutSeconds and ReadIdleTimeoutSeconds in the client; attempts by the pipeline below.
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            // No automatic redirects: a redirect could lead outside DicomWeb:AllowedServers (with the Authorization header); the client reports it.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .AddResilienceHandler("dicomweb", builder =>
            {
                // Transient failures: connection errors, attempt timeouts, 408, 429, 502, 503, 504. HTTP 500 from a DICOMweb server is
                // usually deterministic (e.g. no transcoder for JPEG 2000): it is neither retried nor counted against the server.
                static ValueTask<bool> Transient(Outcome<HttpResponseMessage> outcome) => ValueTask.FromResult(
                    outcome.Exception is HttpRequestException or Polly.Timeout.TimeoutRejectedException
                    || outcome.Result?.StatusCode is System.Net.HttpStatusCode.RequestTimeout or System.Net.HttpStatusCode.TooManyRequests
                        or System.Net.HttpStatusCode.BadGateway or System.Net.HttpStatusCode.ServiceUnavailable or System.Net.HttpStatusCode.GatewayTimeout);
                var retry = new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = Math.Max(settings.MaxRetries, 1),
                    Delay = TimeSpan.FromMilliseconds(250),
                    BackoffType = DelayBackoffType.Exponential,
                    ShouldHandle = args => Transient(args.Outcome),
                };
                retry.DisableForUnsafeHttpMethods();
                if (settings.MaxRetries > 0)
                {
                    builder.AddRetry(retry);
                }

                builder.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = 5,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = TimeSpan.FromSeconds(settings.CircuitBreakSeconds),
                    ShouldHandle = args => Transient(args.Outcome),
                });
                builder.AddTimeout(TimeSpan.FromSeconds(settings.RequestTimeoutSeconds));
            })
            // One pipeline, and so one breaker, per server (scheme, host, port): a failing PACS never stops requests to another.
            .SelectPipelineByAuthority();
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
