using System.Security.Cryptography;
using System.Text;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Auth;

/// <summary>Issue 13 item 16: the patient pseudonym in logs is a keyed HMAC under a per-deployment secret.</summary>
public sealed class PatientIdHashTests : IDisposable
{
    private readonly TestDatabase _db = new();

    public void Dispose() => _db.Dispose();

    private static async Task<PatientIdHash> StartAsync(Database database, string? configuredKey = null)
    {
        var hash = new PatientIdHash();
        var loader = new PatientPseudonymKeyLoader(hash, Options.Create(new PseudonymOptions { PseudonymKey = configuredKey }),
            new DeploymentSecretStore(database, TimeProvider.System), NullLogger<PatientPseudonymKeyLoader>.Instance);
        await loader.StartAsync(CancellationToken.None);
        return hash;
    }

    [Fact]
    public async Task UnsaltedPseudonym_IsGone_ThePseudonymIsNoPlainHashOfTheId()
    {
        var hash = await StartAsync(_db.Database);
        var pseudonym = hash.Of("p1");

        Assert.Equal(16, pseudonym.Length);
        Assert.DoesNotContain(pseudonym, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("p1"))), StringComparison.Ordinal);
        Assert.DoesNotContain(pseudonym, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("cdsrisk:p1"))), StringComparison.Ordinal);
        Assert.NotEqual(pseudonym, hash.Of("p2"));
    }

    [Fact]
    public async Task ThePseudonym_IsStableAcrossRestartsOnTheSameDatabase()
    {
        var first = (await StartAsync(_db.Database)).Of("p1");
        var afterRestart = (await StartAsync(_db.Open())).Of("p1");

        Assert.Equal(first, afterRestart);
    }

    [Fact]
    public async Task AnotherDeployment_GetsAnotherPseudonym()
    {
        using var other = new TestDatabase();

        Assert.NotEqual((await StartAsync(_db.Database)).Of("p1"), (await StartAsync(other.Database)).Of("p1"));
    }

    [Fact]
    public async Task AConfiguredKey_IsTheHmacKey()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var hash = await StartAsync(_db.Database, Convert.ToBase64String(key));

        Assert.Equal(Convert.ToHexStringLower(HMACSHA256.HashData(key, "p1"u8))[..16], hash.Of("p1"));
    }

    [Theory]
    [InlineData("c2hvcnQ=", "at least 32 bytes")]
    [InlineData("not base64!", "must be base64")]
    public void ABadConfiguredKey_NamesTheSetting(string value, string expected)
    {
        var result = new PseudonymOptionsValidator().Validate(null, new PseudonymOptions { PseudonymKey = value });

        Assert.True(result.Failed);
        Assert.Contains("Logging:PseudonymKey", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }
}
