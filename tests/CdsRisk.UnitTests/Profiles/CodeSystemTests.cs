using CdsRisk.Core.Cards;
using CdsRisk.Core.WriteBack;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CdsRisk.UnitTests.Profiles;

[Collection(ProfileValidatorCollection.Name)]
public sealed class CodeSystemTests(ProfileValidator validator)
{
    private static CodeSystem Load(string id) =>
        new FhirJsonDeserializer().Deserialize<CodeSystem>(File.ReadAllText(Path.Combine(ProfileValidator.ProfilesDirectory, $"CodeSystem-{id}.json")));

    [Theory]
    [InlineData("outcome")]
    [InlineData("override-reason")]
    [InlineData("card-topic")]
    [InlineData("pre-model")]
    [InlineData("model-use")]
    public void CodeSystem_IsValidR4_WithTheCanonicalUrlOurCodesUse(string id)
    {
        var codeSystem = Load(id);
        Assert.Equal($"https://cdsrisk.example.org/fhir/CodeSystem/{id}", codeSystem.Url);
        var errors = validator.Errors(codeSystem);
        Assert.True(errors.Count == 0, ProfileValidator.Describe(errors));
    }

    [Fact]
    public void OverrideReasonsAndCardTopics_AreDefinedWithTheSameDisplays()
    {
        var reasons = Load("override-reason").Concept.ToDictionary(c => c.Code ?? "", c => c.Display ?? "");
        Assert.Equal(CardCodes.OverrideReasons.Count, reasons.Count);
        Assert.All(CardCodes.OverrideReasons, r => Assert.Equal(r.Display, reasons[r.Code]));

        var topics = Load("card-topic").Concept.ToDictionary(c => c.Code ?? "", c => c.Display ?? "");
        Assert.All(Enum.GetValues<CardKind>(), kind =>
        {
            var topic = CardCodes.Topic(kind);
            Assert.Equal(CardCodes.CardTopicSystem, topic.System);
            Assert.Equal(topic.Display, topics[topic.Code]);
        });
    }

    [Fact]
    public void PredictedOutcome_IsDefinedWithTheSameDisplay()
    {
        var outcome = Assert.Single(Load("outcome").Concept);
        Assert.Equal((FhirCodes.AggressiveRecurrenceCode, FhirCodes.AggressiveRecurrenceDisplay), (outcome.Code, outcome.Display));
    }
}
