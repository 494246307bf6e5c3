using CdsRisk.Api.Diagnostics;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>CDS Client authentication (configuration section <c>Auth</c>).</summary>
    public static IServiceCollection AddCdsClientAuthentication(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<JtiReplayCache>();
        services.AddSingleton<CdsClientTokenValidator>();
        services.AddSingleton<JwksCache>();
        services.AddHttpClient(JwksCache.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllLoggers()
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions r, IServiceProvider sp) =>
                CdsRisk.Api.Hooks.CdsHooksServiceCollectionExtensions.ConfigureResilience(r, sp.GetRequiredService<IOptions<AuthOptions>>().Value.JwksTimeoutSeconds))
            .SelectPipelineByAuthority(); // one breaker per JWKS host: one client's failing key server never blocks another's
        services.AddHostedService<AuthModeAnnouncer>();
        return services;
    }
}

/// <summary>Says loudly, at every start, when authentication is off.</summary>
internal sealed class AuthModeAnnouncer(IOptions<AuthOptions> options, ILogger<AuthModeAnnouncer> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Mode == AuthMode.Disabled)
        {
            logger.AuthDisabled();
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
