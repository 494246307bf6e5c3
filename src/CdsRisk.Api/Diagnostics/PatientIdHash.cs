using System.Security.Cryptography;
using System.Text;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Diagnostics;

/// <summary>
/// A short, stable pseudonym of a patient id for log lines (the id itself is PHI): HMAC-SHA256 under a per-deployment secret,
/// so that nobody without the key can test guesses of the id against a log line (an unkeyed hash of a short id is reversed by trying
/// them all). The key is <c>Logging:PseudonymKey</c>, or generated on first start and kept in the service's database, so replicas
/// and restarts agree.
/// </summary>
public sealed class PatientIdHash
{
    private byte[]? _key;

    /// <summary>Keyed at start by <see cref="PatientPseudonymKeyLoader"/>.</summary>
    public PatientIdHash()
    {
    }

    public PatientIdHash(ReadOnlySpan<byte> key) => _key = key.ToArray();

    public string Of(string? patientId)
    {
        if (string.IsNullOrEmpty(patientId))
        {
            return "-";
        }

        // Before the key is loaded (never once the host has started) nothing about the id is written.
        var key = Volatile.Read(ref _key);
        return key is null ? "?" : Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(patientId)))[..16];
    }

    internal void UseKey(byte[] key) => Volatile.Write(ref _key, key);
}

/// <summary>Configuration <c>Logging:PseudonymKey</c>: base64 of at least 32 random bytes; empty to generate one per deployment.</summary>
public sealed class PseudonymOptions
{
    public const string Section = "Logging";

    public string? PseudonymKey { get; set; }

    public const int MinimumKeyBytes = 32;

    internal byte[]? Key => string.IsNullOrEmpty(PseudonymKey) ? null : Convert.FromBase64String(PseudonymKey);
}

internal sealed class PseudonymOptionsValidator : IValidateOptions<PseudonymOptions>
{
    public ValidateOptionsResult Validate(string? name, PseudonymOptions options)
    {
        if (string.IsNullOrEmpty(options.PseudonymKey))
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            return options.Key!.Length >= PseudonymOptions.MinimumKeyBytes
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"Logging:PseudonymKey must hold at least {PseudonymOptions.MinimumKeyBytes} bytes (e.g. openssl rand -base64 32).");
        }
        catch (FormatException)
        {
            return ValidateOptionsResult.Fail("Logging:PseudonymKey must be base64 (e.g. openssl rand -base64 32).");
        }
    }
}

/// <summary>Loads the pseudonym key before the host accepts requests: configured, or this deployment's stored one (created on first start).</summary>
internal sealed class PatientPseudonymKeyLoader(PatientIdHash hash, IOptions<PseudonymOptions> options, DeploymentSecretStore secrets, ILogger<PatientPseudonymKeyLoader> logger)
    : IHostedService
{
    public const string SecretName = "patient-pseudonym-key";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Key is { } configured)
        {
            hash.UseKey(configured);
            logger.PseudonymKeySource("Logging:PseudonymKey");
            return;
        }

        var stored = await secrets.GetOrCreateAsync(SecretName, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), cancellationToken);
        hash.UseKey(Convert.FromBase64String(stored));
        logger.PseudonymKeySource("this deployment's database");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class PatientPseudonymServiceCollectionExtensions
{
    /// <summary>The keyed patient pseudonym of log lines (<see cref="PatientIdHash"/>), keyed at start.</summary>
    public static IServiceCollection AddPatientPseudonyms(this IServiceCollection services)
    {
        services.AddOptions<PseudonymOptions>().BindConfiguration(PseudonymOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PseudonymOptions>, PseudonymOptionsValidator>();
        services.AddSingleton<PatientIdHash>();
        services.AddHostedService<PatientPseudonymKeyLoader>();
        return services;
    }
}
