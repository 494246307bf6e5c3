using CdsRisk.Core.Eligibility;

namespace CdsRisk.UnitTests;

public sealed class ContractTests
{
    [Fact]
    public void CriterionIds_AreTheSeventeenOfTheTrial_InWireForm()
    {
        Assert.Equal(17, CriterionIds.All.Count);
        Assert.Equal(17, CriterionIds.All.Distinct().Count());
        Assert.All(CriterionIds.All, id => Assert.Matches("^[a-z0-9-]+$", id));
    }
}
