using System.Text.Json;
using CdsRisk.Api.Hooks;

namespace CdsRisk.UnitTests.Hooks;

public sealed class CdsServiceRequestValidatorTests
{
    private readonly CdsServiceRequestValidator _validator = new();

    private static CdsServiceRequest Valid(string hook = "patient-view") => new()
    {
        Hook = hook,
        HookInstance = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        Context = new HookContext { UserId = "Practitioner/123", PatientId = "p1" },
    };

    private string[] Errors(CdsServiceRequest request) =>
        [.. _validator.Validate(request).Errors.Select(e => WirePath.FromPropertyPath(e.PropertyName)).Distinct().Order()];

    [Fact]
    public void ValidPatientView_HasNoErrors() => Assert.Empty(Errors(Valid()));

    [Theory]
    [InlineData("Practitioner/123")]
    [InlineData("PractitionerRole/abc")]
    [InlineData("Patient/p-1")]
    [InlineData("RelatedPerson/r.1")]
    public void UserId_AcceptsTheSpecsReferenceForms(string userId) =>
        Assert.Empty(Errors(Valid() with { Context = new HookContext { UserId = userId, PatientId = "p1" } }));

    [Theory]
    [InlineData("123")]
    [InlineData("Organization/1")]
    [InlineData("Practitioner/")]
    [InlineData("Practitioner/1/_history/2")]
    public void UserId_RejectsOtherForms(string userId) =>
        Assert.Equal(["context.userId"], Errors(Valid() with { Context = new HookContext { UserId = userId, PatientId = "p1" } }));

    [Fact]
    public void FhirAuthorizationWithoutFhirServer_NamesFhirServer()
    {
        var request = Valid() with
        {
            FhirAuthorization = new FhirAuthorization { AccessToken = "t", TokenType = "Bearer", ExpiresIn = 60, Scope = "s", Subject = "x" },
        };

        Assert.Equal(["fhirServer"], Errors(request));
    }

    [Theory]
    [InlineData("ftp://ehr.example/fhir")]
    [InlineData("https://user:pass@ehr.example/fhir")]
    [InlineData("/relative")]
    public void FhirServer_MustBeAnAbsoluteHttpUrlWithoutUserInfo(string server) =>
        Assert.Equal(["fhirServer"], Errors(Valid() with { FhirServer = server }));

    [Fact]
    public void OrderSelect_SelectionMustNameADraftOrder()
    {
        using var draft = JsonDocument.Parse("""{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"ServiceRequest","id":"sr-1"}}]}""");
        var request = Valid("order-select") with
        {
            Context = new HookContext { UserId = "Practitioner/1", PatientId = "p1", Selections = ["ServiceRequest/other"], DraftOrders = draft.RootElement.Clone() },
        };

        Assert.Equal(["context.selections"], Errors(request));
        Assert.Empty(Errors(request with { Context = request.Context with { Selections = ["ServiceRequest/sr-1"] } }));
    }

    [Theory]
    [InlineData("""{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"MedicationRequest"}},{"resource":{"resourceType":"ServiceRequest","code":{"coding":[{}]}}}]}""")]
    [InlineData("""{"resourceType":"Bundle"}""")]
    public void OrderSign_NeedsOnlyADraftOrdersBundle_NoSelections_AndSparseOrdersAreNotRefused(string draftOrders)
    {
        using var draft = JsonDocument.Parse(draftOrders);
        var request = Valid("order-sign") with
        {
            Context = new HookContext { UserId = "Practitioner/1", PatientId = "p1", EncounterId = "e1", DraftOrders = draft.RootElement.Clone() },
        };

        Assert.Empty(Errors(request));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("""{"resourceType":"MedicationRequest","id":"m1"}""")]
    [InlineData("""[{"resourceType":"Bundle"}]""")]
    [InlineData("\"Bundle\"")]
    public void OrderSign_DraftOrdersThatIsNotABundle_NamesContextDraftOrders(string? draftOrders)
    {
        using var draft = draftOrders is null ? null : JsonDocument.Parse(draftOrders);
        var request = Valid("order-sign") with
        {
            Context = new HookContext { UserId = "Practitioner/1", PatientId = "p1", DraftOrders = draft?.RootElement.Clone() },
        };

        Assert.Equal(["context.draftOrders"], Errors(request));
    }

    [Fact]
    public void PrefetchValuesMustBeResourcesOrNull_NamingTheKey()
    {
        using var values = JsonDocument.Parse("""{"a":{"resourceType":"Patient"},"b":null,"c":[1],"d":{"id":"x"}}""");
        var prefetch = values.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (JsonElement?)p.Value.Clone());

        Assert.Equal(["prefetch.c", "prefetch.d"], Errors(Valid() with { Prefetch = prefetch }));
    }
}
