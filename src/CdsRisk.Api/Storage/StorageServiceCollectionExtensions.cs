using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>Storage (configuration section <c>Storage</c>): SQLite or PostgreSQL, its migrations at start, and the stores.</summary>
    public static IServiceCollection AddCdsRiskStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Database>();
        services.AddHostedService<StorageInitializer>();
        services.AddSingleton<IFeedbackStore, FeedbackStore>();
        services.AddSingleton<ScoreCacheStore>();
        services.AddSingleton<ScoringJobStore>();
        services.AddSingleton<OutboxStore>();
        services.AddSingleton<AssessmentAuditStore>();
        services.AddSingleton<LeaseStore>();
        services.AddSingleton<UsedTokenStore>();
        services.AddSingleton<DeploymentSecretStore>();
        services.AddSingleton<FollowUpStore>();
        return services;
    }
}
