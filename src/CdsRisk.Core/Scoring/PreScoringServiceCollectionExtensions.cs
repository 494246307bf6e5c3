using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CdsRisk.Core.Scoring;

public static class PreScoringServiceCollectionExtensions
{
    /// <summary>
    /// Registers the one shared <see cref="PreScorer"/>. The model is checked against its card when the host starts
    /// (ValidateOnStart), so a wrong hash, name or shape stops the service with a message naming it.
    /// Chain <c>.BindConfiguration(PreModelOptions.SectionName)</c> in the host.
    /// </summary>
    public static OptionsBuilder<PreModelOptions> AddPreScoring(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new PreScorer(sp.GetRequiredService<IOptions<PreModelOptions>>().Value));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PreModelOptions>, PreModelOptionsValidator>());
        return services.AddOptions<PreModelOptions>().ValidateOnStart();
    }
}

/// <summary>Opens the model once at start-up and reports what does not match its card.</summary>
internal sealed class PreModelOptionsValidator : IValidateOptions<PreModelOptions>
{
    public ValidateOptionsResult Validate(string? name, PreModelOptions options)
    {
        if (options.IntraOpThreads is < 1 or > 64)
        {
            return ValidateOptionsResult.Fail($"{PreModelOptions.SectionName}:IntraOpThreads must be between 1 and 64, got {options.IntraOpThreads}");
        }
        var directory = options.ResolveDirectory();
        if (!Directory.Exists(directory))
        {
            return ValidateOptionsResult.Fail($"{PreModelOptions.SectionName}:Directory '{directory}' does not exist");
        }
        try
        {
            using var scorer = new PreScorer(options);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is ModelCardMismatchException or InvalidModelCardException)
        {
            return ValidateOptionsResult.Fail($"{PreModelOptions.SectionName}:Directory '{directory}': {e.Message}");
        }
    }
}
