using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>Storage (configuration section <c>Storage</c>): the SQLite database, its migrations at start, and the stores.</summary>
    public static IServiceCollection AddCdsRiskStorage(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();
        services.AddSingleton<SqliteDatabase>();
        services.AddHostedService<StorageInitializer>();
        services.AddSingleton<IFeedbackStore, SqliteFeedbackStore>();
        return services;
    }
}
