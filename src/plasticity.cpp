#include "seqlearn/plasticity.hpp"

#include "seqlearn/kernels.hpp"

namespace seqlearn {
namespace {

class VarianceTracking : public PlasticityRule {
 public:
  void update_row(const RowUpdate& row) const override {
    kernels::stdp_variance_tracking_row(row.weight, row.variance_tracking_mean,
                                        row.variance_tracking_second_moment, row.epsp, row.source,
                                        row.length, row.eta);  // M7-M11
  }
};

class InverseTime : public PlasticityRule {
 public:
  void update_row(const RowUpdate& row) const override {
    kernels::weight_step_row(row.weight, row.epsp, row.source, row.length,
                             row.eta / static_cast<double>(row.learning_steps));  // M7'
  }
};

class Constant : public PlasticityRule {
 public:
  void update_row(const RowUpdate& row) const override {
    kernels::weight_step_row(row.weight, row.epsp, row.source, row.length, row.eta);  // M7''
  }
};

template <class Rule>
std::unique_ptr<PlasticityRule> make(const Config&) {
  return std::make_unique<Rule>();
}

}  // namespace

Registry<RuleEntry>& plasticity_rules() {
  static Registry<RuleEntry> rules = [] {
    Registry<RuleEntry> built_in;
    built_in.add("variance_tracking", {"variance tracking (M7-M11)", make<VarianceTracking>});
    built_in.add("inverse_time", {"eta / N_train (M7')", make<InverseTime>});
    built_in.add("constant", {"eta (M7'')", make<Constant>});
    return built_in;
  }();
  return rules;
}

std::unique_ptr<PlasticityRule> make_rule(const std::string& name, const Config& config) {
  const RuleEntry* entry = plasticity_rules().find(name);
  if (entry == nullptr)
    throw ConfigError("invalid value '" + name + "' for plasticity.schedule: expected " +
                      plasticity_rules().joined_names());
  return entry->make(config);
}

}  // namespace seqlearn
