// Checks QuestionnaireResponses exported by LHC-Forms with the fhirpath package and the R4 model:
// the R4 invariants of QuestionnaireResponse (qrs-1, qrs-2) and of Questionnaire (que-*), and the
// weight() of every coded answer and their sum. Reads a JSON list of {questionnaire, response}
// on standard input and prints one JSON object per pair (tests/e2e/test_fhir_client.py).
"use strict";

const fs = require("fs");
const fhirpath = require("fhirpath");
const r4 = require("fhirpath/fhir-context/r4");

// The constraints as the FHIR R4 (4.0.1) specification writes them, each checked on every
// element it applies to.
const RESPONSE_INVARIANTS = {
  // On every QuestionnaireResponse.item: "Nested item can't be beneath both item and answer".
  "qrs-1": "repeat(item | answer.item).all((answer.exists() and item.exists()).not())",
  // On the QuestionnaireResponse: "Repeated answers are combined in the answers array of a
  // single item".
  "qrs-2": "repeat(answer | item).select(item.select(linkId).isDistinct()).allTrue()",
};
const QUESTIONNAIRE_INVARIANTS = {
  "que-1": "repeat(item).all((type = 'group' implies item.empty().not()) and (type = 'display' implies item.empty()))",
  "que-2": "repeat(item).linkId.isDistinct()",
  "que-3": "repeat(item).all(type != 'display' or code.empty())",
  "que-4": "repeat(item).all(answerOption.empty() or answerValueSet.empty())",
  "que-6": "repeat(item).all(type != 'display' or (required.empty() and repeats.empty()))",
  "que-8": "repeat(item).all((type != 'group' and type != 'display') or initial.empty())",
  "que-9": "repeat(item).all(type != 'display' or readOnly.empty())",
  "que-11": "repeat(item).all(answerOption.empty() or initial.empty())",
  "que-13": "repeat(item).all(repeats = true or initial.count() <= 1)",
};

function evaluate(resource, expression, env) {
  return fhirpath.evaluate(resource, expression, env, r4);
}

function holds(resource, expression, env) {
  const result = evaluate(resource, expression, env);
  return result.length === 1 && result[0] === true;
}

function check({ questionnaire, response }) {
  const env = { questionnaire };
  const invariants = {};
  for (const [key, expression] of Object.entries(RESPONSE_INVARIANTS)) {
    invariants[key] = holds(response, expression, env);
  }
  for (const [key, expression] of Object.entries(QUESTIONNAIRE_INVARIANTS)) {
    invariants[key] = holds(questionnaire, expression, env);
  }
  const linkIds = evaluate(response, "repeat(item | answer.item).where(answer.value.ofType(Coding).exists()).linkId", env);
  const weights = {};
  for (const linkId of linkIds) {
    const found = evaluate(
      response,
      `repeat(item | answer.item).where(linkId = '${linkId}').answer.value.ofType(Coding).weight()`,
      env,
    );
    weights[linkId] = found.length === 1 ? found[0] : null;
  }
  const total = evaluate(response, "repeat(item | answer.item).answer.value.ofType(Coding).weight().sum()", env);
  return { invariants, weights, total: total.length === 1 ? total[0] : null };
}

const pairs = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(pairs.map(check)));
