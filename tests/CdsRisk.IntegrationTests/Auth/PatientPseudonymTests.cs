using CdsRisk.Api.Diagnostics;
using CdsRisk.IntegrationTests.Hooks;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>Issue 13 item 16, as the service wires it: the pseudonym key is this deployment's, kept in its database.</summary>
public sealed class PatientPseudonymTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("cdsrisk-pseudonym-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    private static string PseudonymOf(string database, string patientId)
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?> { ["Storage:Sqlite:Path"] = database });
        using var client = factory.CreateClient(); // starts the host, which loads the key
        return factory.Services.GetRequiredService<PatientIdHash>().Of(patientId);
    }

    [Fact]
    public void UnsaltedPseudonym_ThePseudonymIsStableAcrossRestarts_AndDiffersBetweenDeployments()
    {
        var database = Path.Combine(_folder, "a", "cdsrisk.db");
        var first = PseudonymOf(database, "p1");

        Assert.Matches("^[0-9a-f]{16}$", first);
        Assert.Equal(first, PseudonymOf(database, "p1"));
        Assert.NotEqual(first, PseudonymOf(Path.Combine(_folder, "b", "cdsrisk.db"), "p1"));
    }
}
