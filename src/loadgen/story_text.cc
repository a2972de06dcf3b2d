#include "loadgen/story_text.h"

#include <cmath>

namespace kvs::loadgen {
namespace {

// A small TinyStories-like lexicon: the model was trained on this register.
constexpr const char* kNames[] = {"Lily", "Tom", "Ben", "Sue", "Max", "Mia", "Sam", "Anna",
                                  "Tim", "Lucy", "Jack", "Emma", "Bob", "Zoe"};
constexpr const char* kAnimals[] = {"dog", "cat", "bird", "bunny", "frog", "duck",
                                    "bear", "fish", "puppy", "kitten", "mouse", "lion"};
constexpr const char* kThings[] = {"ball", "toy", "box", "kite", "hat", "cake", "car",
                                   "doll", "book", "flower", "stick", "boat", "apple"};
constexpr const char* kAdjectives[] = {"big", "little", "red", "happy", "shiny", "soft",
                                       "funny", "blue", "old", "pretty", "tiny", "kind"};
constexpr const char* kPlaces[] = {"park", "garden", "house", "forest", "beach", "school",
                                   "store", "pond", "yard", "room", "hill", "farm"};
constexpr const char* kFeelings[] = {"happy", "sad", "scared", "excited", "tired", "proud",
                                     "angry", "surprised"};
constexpr const char* kVerbs[] = {"play with", "find", "share", "fix", "paint", "hug",
                                  "carry", "hide", "catch", "clean"};
constexpr const char* kQuotes[] = {"Let's play together!", "Can I help you?",
                                   "I love you, mom.", "Look at this!", "Thank you, friend.",
                                   "Do not be scared.", "I am sorry.", "We can do it!"};

}  // namespace

uint64_t MixSeed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double StoryText::Normal() {
  const double u1 = 1.0 - UniformDouble();  // (0, 1]: log is finite
  const double u2 = UniformDouble();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

std::string StoryText::Sentence() {
  const std::string name = Pick(kNames);
  const std::string other = Pick(kNames);
  switch (Uniform(9)) {
    case 0:
      return "Once upon a time, there was a " + std::string(Pick(kAdjectives)) + " " +
             Pick(kAnimals) + " named " + name + ".";
    case 1:
      return name + " had a " + Pick(kAdjectives) + " " + Pick(kThings) + ".";
    case 2:
      return "One day, " + name + " went to the " + Pick(kPlaces) + " with " + other + ".";
    case 3:
      return name + " saw a " + std::string(Pick(kAdjectives)) + " " + Pick(kAnimals) +
             " near the " + Pick(kPlaces) + ".";
    case 4:
      return "The " + std::string(Pick(kAnimals)) + " was very " + Pick(kFeelings) + ".";
    case 5:
      return name + " said, \"" + Pick(kQuotes) + "\"";
    case 6:
      return name + " wanted to " + Pick(kVerbs) + " the " + Pick(kThings) + ", but it was too " +
             Pick(kAdjectives) + ".";
    case 7:
      return "They played with the " + std::string(Pick(kThings)) + " in the " + Pick(kPlaces) +
             " all day.";
    default:
      return name + " and " + other + " were " + Pick(kFeelings) + " and smiled.";
  }
}

std::string StoryText::Question() {
  switch (Uniform(4)) {
    case 0:
      return "Tell me a story about " + std::string(Pick(kNames)) + " and a " +
             Pick(kAdjectives) + " " + Pick(kAnimals) + ".";
    case 1:
      return "What did " + std::string(Pick(kNames)) + " find in the " + Pick(kPlaces) + "?";
    case 2:
      return "Why was the " + std::string(Pick(kAnimals)) + " " + Pick(kFeelings) + "?";
    default:
      return "Write a story about a " + std::string(Pick(kThings)) + " at the " +
             Pick(kPlaces) + ".";
  }
}

std::string StoryText::Paragraph(size_t min_chars) {
  std::string out;
  while (out.size() < min_chars) {
    if (!out.empty()) out.push_back(' ');
    out += Sentence();
  }
  return out;
}

std::string StoryText::TextOfTokens(int n_tokens, double chars_per_token) {
  const size_t want = static_cast<size_t>(std::max(1.0, n_tokens * chars_per_token));
  std::string text = Paragraph(want);
  if (text.size() > want) {
    const size_t cut = text.rfind(' ', want);
    if (cut != std::string::npos && cut > 0) text.resize(cut);
  }
  return text;
}

}  // namespace kvs::loadgen
