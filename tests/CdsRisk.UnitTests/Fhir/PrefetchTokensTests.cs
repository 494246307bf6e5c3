using CdsRisk.Api.Fhir;
using CdsRisk.Api.Pipeline;

namespace CdsRisk.UnitTests.Fhir;

public sealed class PrefetchTokensTests
{
    private static HookInvocation Invocation(string userId = "Practitioner/123", string? encounterId = null) => new()
    {
        ServiceId = "s",
        Hook = "patient-view",
        HookInstance = Guid.NewGuid(),
        PatientId = "p-1",
        UserId = userId,
        EncounterId = encounterId,
        ReceivedAt = DateTimeOffset.UtcNow,
    };

    [Fact]
    public void ContextTokens_AreReplaced() =>
        Assert.Equal("Observation?patient=p-1&encounter=e.9", PrefetchTokens.Resolve("Observation?patient={{context.patientId}}&encounter={{context.encounterId}}", Invocation(encounterId: "e.9")));

    [Fact]
    public void UserPractitionerId_IsTheBareIdOfUserId() =>
        Assert.Equal("Practitioner/123", PrefetchTokens.Resolve("Practitioner/{{userPractitionerId}}", Invocation()));

    [Fact]
    public void UserPractitionerRoleId_ComesOnlyFromAPractitionerRoleUser()
    {
        Assert.Null(PrefetchTokens.Resolve("PractitionerRole/{{userPractitionerRoleId}}", Invocation()));
        Assert.Equal("PractitionerRole/r1", PrefetchTokens.Resolve("PractitionerRole/{{userPractitionerRoleId}}", Invocation("PractitionerRole/r1")));
    }

    [Fact]
    public void ContextUserId_IsTheValueAsSent() =>
        Assert.Equal("Task?owner=Practitioner/123", PrefetchTokens.Resolve("Task?owner={{context.userId}}", Invocation()));

    [Theory]
    [InlineData("Encounter/{{context.encounterId}}")]
    [InlineData("X?y={{context.unknown}}")]
    [InlineData("X?y={{context.patientId")]
    [InlineData("X?y={{context.draftOrders.entry}}")]
    public void UnfillableTemplates_ResolveToNull(string template) => Assert.Null(PrefetchTokens.Resolve(template, Invocation()));

    [Fact]
    public void Values_AreUrlEscaped()
    {
        var invocation = Invocation() with { PatientId = "a&b=c" };
        Assert.Equal("Patient/a%26b%3Dc", PrefetchTokens.Resolve("Patient/{{context.patientId}}", invocation));
    }
}
